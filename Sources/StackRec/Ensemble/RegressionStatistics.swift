/// The sums a linear regression needs, so that folds can be combined and
/// solved without another pass over the samples:
///
/// ```
/// n, sum x, sum y, sum x x^T, sum x y, sum y^2
/// ```
///
/// A training fold's statistics are the total minus the held-out fold's,
/// and the held-out squared error of any fitted line follows from the
/// held-out fold's statistics alone.
struct RegressionStatistics {
  let dimension: Int
  var count = 0.0
  var sumX: [Double]
  var sumY = 0.0
  var sumXX: [Double]
  var sumXY: [Double]
  var sumYY = 0.0

  init(dimension: Int) {
    self.dimension = dimension
    sumX = [Double](repeating: 0, count: dimension)
    sumXX = [Double](repeating: 0, count: dimension * dimension)
    sumXY = [Double](repeating: 0, count: dimension)
  }

  /// The statistics of the samples `rows` of column-wise `features`.
  init(features: [[Double]], targets: [Double], rows: [Int]) {
    self.init(dimension: features.count)
    let d = dimension
    var x = [Double](repeating: 0, count: d)
    for row in rows {
      for a in 0..<d { x[a] = features[a][row] }
      let y = targets[row]
      count += 1
      sumY += y
      sumYY += y * y
      for a in 0..<d {
        sumX[a] += x[a]
        sumXY[a] += x[a] * y
        for b in a..<d { sumXX[a * d + b] += x[a] * x[b] }
      }
    }
    for a in 0..<d { for b in 0..<a { sumXX[a * d + b] = sumXX[b * d + a] } }
  }

  static func - (lhs: RegressionStatistics, rhs: RegressionStatistics) -> RegressionStatistics {
    var result = lhs
    result.count -= rhs.count
    result.sumY -= rhs.sumY
    result.sumYY -= rhs.sumYY
    for index in 0..<lhs.dimension {
      result.sumX[index] -= rhs.sumX[index]
      result.sumXY[index] -= rhs.sumXY[index]
    }
    for index in 0..<lhs.sumXX.count { result.sumXX[index] -= rhs.sumXX[index] }
    return result
  }

  /// The statistics with every sum negated, so that subtracting them adds.
  func negated() -> RegressionStatistics {
    RegressionStatistics(dimension: dimension) - self
  }

  /// The ridge solution from the centred normal equations.
  func solve(ridge: Double) -> LeastSquares.Solution {
    let d = dimension
    guard count > 0 else {
      return LeastSquares.Solution(intercept: 0, weights: [Double](repeating: 0, count: d))
    }
    let meanY = sumY / count
    let meanX = sumX.map { $0 / count }
    var gram = [Double](repeating: 0, count: d * d)
    var rhs = [Double](repeating: 0, count: d)
    for a in 0..<d {
      rhs[a] = sumXY[a] - count * meanX[a] * meanY
      for b in 0..<d { gram[a * d + b] = sumXX[a * d + b] - count * meanX[a] * meanX[b] }
      gram[a * d + a] += ridge
    }
    let weights = LeastSquares.solve(gram, rhs, size: d)
    var intercept = meanY
    for a in 0..<d { intercept -= weights[a] * meanX[a] }
    return LeastSquares.Solution(intercept: intercept, weights: weights)
  }

  /// The sum of squared errors of `solution` over these samples.
  func squaredError(_ solution: LeastSquares.Solution) -> Double {
    let d = dimension
    let b = solution.intercept
    let w = solution.weights
    var wx = 0.0
    var wxy = 0.0
    var wXXw = 0.0
    for a in 0..<d {
      wx += w[a] * sumX[a]
      wxy += w[a] * sumXY[a]
      for c in 0..<d { wXXw += w[a] * sumXX[a * d + c] * w[c] }
    }
    return sumYY - 2 * b * sumY - 2 * wxy + count * b * b + 2 * b * wx + wXXw
  }
}
