// Temporary stand-in until the full implementation lands.
public enum DatasetFetcher {
  public static let defaultURL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
  public static let defaultSHA256 = "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436"
  public static func ensureDataset(directory: String, url: String, expectedSHA256: String?, logger: Logger) throws {}
}
