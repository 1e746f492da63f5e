import Glibc

/// Generates ratings with the shape of MovieLens for scale tests: heavy
/// tailed user activity and item popularity, half-star ratings, timestamps,
/// and a latent structure the models can learn.
///
/// ```
/// n_u           ~ 20 + LogNormal(log(mean - 20) - s^2 / 2, s)   ratings per user
/// item i drawn  with probability proportional to (i + 1)^(-popularity)
/// r_ui          = round_half(mu + b_u + b_i + dot(p_u, q_i) + noise), clipped to 0.5...5
/// ```
///
/// with `b_u ~ N(0, 0.4^2)`, `b_i ~ N(0, 0.4^2)` plus a popularity bonus,
/// `p_u, q_i ~ N(0, 0.35^2)` in 8 dimensions and `noise ~ N(0, 0.7^2)`. The
/// item ids are shuffled so popularity does not follow id order. Everything
/// is drawn from one `SeededGenerator`, so a seed fixes the data.
public struct SyntheticRatings: Sendable {
  public var users: Int
  public var items: Int
  public var ratings: Int
  public var seed: UInt64

  public init(users: Int, items: Int, ratings: Int, seed: UInt64 = 42) {
    precondition(users > 0 && items > 0, "need at least one user and one item")
    precondition(ratings >= users, "every user needs at least one rating")
    self.users = users
    self.items = items
    self.ratings = ratings
    self.seed = seed
  }

  /// Sizes shaped like the MovieLens releases, scaled to `ratings`: about
  /// 154 ratings per user and 425 per movie, as in ml-25m.
  public static func shaped(ratings: Int, seed: UInt64 = 42) -> SyntheticRatings {
    let users = max(1, min(ratings, Int((Double(ratings) / 154).rounded())))
    let items = max(1, Int((Double(ratings) / 425).rounded()))
    return SyntheticRatings(users: users, items: items, ratings: ratings, seed: seed)
  }

  /// Writes `ratings.csv` and `movies.csv` into `directory` in the
  /// ml-latest-small layout, streaming so memory stays small.
  public func write(to directory: String) throws {
    try createDirectories(directory)
    var generator = SeededGenerator(seed: seed)
    let factors = 8

    // Items: shuffled ids, popularity weights, latent terms and genres.
    var itemIDs = Array(1...Int32(items))
    generator.shuffle(&itemIDs)
    var cumulative = [Double](repeating: 0, count: items)
    var total = 0.0
    for rank in 0..<items {
      total += pow(Double(rank + 1), -0.9)
      cumulative[rank] = total
    }
    let itemBias = (0..<items).map { rank in
      generator.nextGaussian(standardDeviation: 0.4) + 0.3 * (1 - Double(rank) / Double(items))
    }
    let itemFactors = (0..<items * factors).map { _ in
      generator.nextGaussian(standardDeviation: 0.35)
    }
    let genres = ["Action", "Comedy", "Drama", "Thriller", "Romance", "Sci-Fi", "Horror", "Animation"]
    var movies = "movieId,title,genres\n"
    for rank in 0..<items {
      let year = 1930 + generator.nextInt(below: 90)
      let genre = genres[generator.nextInt(below: genres.count)]
      movies += "\(itemIDs[rank]),Movie \(itemIDs[rank]) (\(year)),\(genre)\n"
    }
    try writeFileAtomically(joinPath(directory, "movies.csv"), Array(movies.utf8))

    // Users: activity counts summing to `ratings`, from a log-normal tail.
    let sigma = 1.2
    let mean = Double(ratings) / Double(users)
    let floor = min(20.0, mean * 0.5)
    var counts = (0..<users).map { _ -> Double in
      let draw = exp(log(max(mean - floor, 1)) - sigma * sigma / 2 + sigma * generator.nextGaussian())
      return floor + draw
    }
    let scale = Double(ratings) / counts.reduce(0, +)
    counts = counts.map { min($0 * scale, Double(items)) }
    var remaining = ratings
    var perUser = counts.map { Int($0) }
    remaining -= perUser.reduce(0, +)
    var index = 0
    while remaining > 0 {
      if perUser[index % users] < items {
        perUser[index % users] += 1
        remaining -= 1
      }
      index += 1
    }

    let path = joinPath(directory, "ratings.csv")
    let temporary = temporaryPath(for: path)
    guard let file = fopen(temporary, "w") else {
      throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
    var failed = false
    defer { if failed { unlink(temporary) } }
    fputs("userId,movieId,rating,timestamp\n", file)
    var chosen = Set<Int>()
    var line = ""
    let start: Int64 = 946_684_800
    let span: Int64 = 20 * 365 * 86_400
    for user in 0..<users {
      let userBias = generator.nextGaussian(standardDeviation: 0.4)
      let userFactors = (0..<factors).map { _ in generator.nextGaussian(standardDeviation: 0.35) }
      let sessionStart = start + Int64(generator.nextInt(below: Int(span)))
      chosen.removeAll(keepingCapacity: true)
      line.removeAll(keepingCapacity: true)
      while chosen.count < perUser[user] {
        // Popular items first by weight; once most are taken, any free item.
        var rank: Int
        if chosen.count < items / 2 {
          let target = generator.nextUnit() * total
          var low = 0
          var high = items - 1
          while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
          }
          rank = low
        } else {
          rank = generator.nextInt(below: items)
        }
        guard chosen.insert(rank).inserted else { continue }
        var value = 3.5 + userBias + itemBias[rank] + generator.nextGaussian(standardDeviation: 0.7)
        for f in 0..<factors { value += userFactors[f] * itemFactors[rank * factors + f] }
        let rating = min(max((value * 2).rounded() / 2, 0.5), 5.0)
        let time = sessionStart + Int64(generator.nextInt(below: 30 * 86_400))
        line += "\(user + 1),\(itemIDs[rank]),\(rating),\(time)\n"
      }
      if fputs(line, file) < 0 { failed = true }
    }
    if fclose(file) != 0 { failed = true }
    guard !failed, rename(temporary, path) == 0 else {
      failed = true
      throw OutputError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
    }
  }
}
