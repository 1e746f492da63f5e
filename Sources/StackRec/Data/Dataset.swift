/// A loaded MovieLens dataset: every rating, the id maps, and movie titles.
///
/// The item index covers every movie that appears in the ratings or in
/// `movies.csv`, so a store can answer for movies that nobody has rated yet.
public struct Dataset: Sendable {
  public var users: IDIndex
  public var items: IDIndex
  public var ratings: Ratings
  /// Movie titles by item index; empty when the movie file lacks the movie.
  public var titles: [String]
  /// Pipe-separated genres by item index, as in `movies.csv`.
  public var genres: [String]
  /// Lowercased user tags by item index, each tag once; tags of movies
  /// outside the item index are ignored.
  public var tags: [[String]] = []
  /// The allowed rating range; input outside it is rejected.
  public var ratingScale: ClosedRange<Float>
  /// True when every rating row carried a timestamp.
  public var hasTimestamps: Bool
  /// A hex digest identifying the input files' contents.
  public var fingerprint: String

  public init(
    users: IDIndex, items: IDIndex, ratings: Ratings, titles: [String], genres: [String],
    ratingScale: ClosedRange<Float>, hasTimestamps: Bool, fingerprint: String
  ) {
    self.users = users
    self.items = items
    self.ratings = ratings
    self.titles = titles
    self.genres = genres
    self.ratingScale = ratingScale
    self.hasTimestamps = hasTimestamps
    self.fingerprint = fingerprint
    self.tags = [[String]](repeating: [], count: items.count)
  }

  /// The number of distinct users with at least one rating.
  public var userCount: Int { users.count }
  /// The number of items: rated movies plus unrated ones from the movie file.
  public var itemCount: Int { items.count }
}
