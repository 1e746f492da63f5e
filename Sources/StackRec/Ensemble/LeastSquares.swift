/// Ordinary and ridge least squares with an intercept, solved through the
/// centred normal equations.
///
/// ```
/// minimise  sum_n (y_n - b - dot(w, x_n))^2 + lambda * |w|^2
/// ```
///
/// Centring the features and targets separates the intercept:
/// `b = mean(y) - dot(w, mean(x))` and `(Xc^T Xc + lambda I) w = Xc^T yc`.
/// The system is solved by Gaussian elimination with partial pivoting. A
/// feature whose remaining pivot is negligible (a constant column, or one
/// that is a combination of the others) gets weight 0, so constant targets
/// or identical models give finite weights instead of NaN.
public enum LeastSquares {
  public struct Solution: Sendable, Equatable {
    public var intercept: Double
    public var weights: [Double]
  }

  /// Fits `targets` on `features`, where `features[m][n]` is feature `m`
  /// of sample `n`.
  ///
  /// - Parameter ridge: the penalty `lambda` on the weights (not the
  ///   intercept); 0 gives ordinary least squares.
  public static func fit(features: [[Double]], targets: [Double], ridge: Double = 0) -> Solution {
    let featureCount = features.count
    let sampleCount = targets.count
    precondition(
      features.allSatisfy { $0.count == sampleCount },
      "every feature needs \(sampleCount) samples")
    guard sampleCount > 0 else {
      return Solution(intercept: 0, weights: [Double](repeating: 0, count: featureCount))
    }

    let n = Double(sampleCount)
    let targetMean = targets.reduce(0, +) / n
    let featureMeans = features.map { $0.reduce(0, +) / n }

    // Centred Gram matrix and right-hand side.
    var gram = [Double](repeating: 0, count: featureCount * featureCount)
    var rhs = [Double](repeating: 0, count: featureCount)
    for a in 0..<featureCount {
      let columnA = features[a]
      let meanA = featureMeans[a]
      for sample in 0..<sampleCount {
        rhs[a] += (columnA[sample] - meanA) * (targets[sample] - targetMean)
      }
      for b in a..<featureCount {
        let columnB = features[b]
        let meanB = featureMeans[b]
        var sum = 0.0
        for sample in 0..<sampleCount {
          sum += (columnA[sample] - meanA) * (columnB[sample] - meanB)
        }
        gram[a * featureCount + b] = sum
        gram[b * featureCount + a] = sum
      }
      gram[a * featureCount + a] += ridge
    }

    let weights = solve(gram, rhs, size: featureCount)
    var intercept = targetMean
    for feature in 0..<featureCount {
      intercept -= weights[feature] * featureMeans[feature]
    }
    return Solution(intercept: intercept, weights: weights)
  }

  /// Solves the symmetric system `matrix * x = rhs`, setting to 0 the
  /// unknowns whose pivot falls below 1e-10 times the largest diagonal entry.
  static func solve(_ matrix: [Double], _ rhs: [Double], size: Int) -> [Double] {
    var a = matrix
    var b = rhs
    var largestDiagonal = 0.0
    for index in 0..<size { largestDiagonal = max(largestDiagonal, abs(a[index * size + index])) }
    let tolerance = max(largestDiagonal * 1e-10, Double.leastNormalMagnitude)

    var pivotColumns: [Int] = []
    var row = 0
    for column in 0..<size where row < size {
      var best = row
      for candidate in row..<size where abs(a[candidate * size + column]) > abs(a[best * size + column]) {
        best = candidate
      }
      guard abs(a[best * size + column]) > tolerance else { continue }
      if best != row {
        for k in 0..<size { a.swapAt(best * size + k, row * size + k) }
        b.swapAt(best, row)
      }
      for other in (row + 1)..<size {
        let factor = a[other * size + column] / a[row * size + column]
        guard factor != 0 else { continue }
        for k in column..<size { a[other * size + k] -= factor * a[row * size + k] }
        b[other] -= factor * b[row]
      }
      pivotColumns.append(column)
      row += 1
    }

    // Back substitution over the pivot columns; the others stay 0.
    var x = [Double](repeating: 0, count: size)
    for (pivotRow, column) in pivotColumns.enumerated().reversed() {
      var sum = b[pivotRow]
      for k in (column + 1)..<size { sum -= a[pivotRow * size + k] * x[k] }
      x[column] = sum / a[pivotRow * size + column]
    }
    return x
  }
}

extension LeastSquares {
  /// Fits with every weight constrained to be non-negative and a free
  /// intercept, by cyclic coordinate descent on the centred normal
  /// equations: each step sets one weight to the minimiser along its axis,
  /// clamped at 0. The objective is convex, so the iteration converges to
  /// the constrained optimum.
  public static func fitNonNegative(features: [[Double]], targets: [Double]) -> Solution {
    let featureCount = features.count
    let sampleCount = targets.count
    guard sampleCount > 0, featureCount > 0 else {
      return Solution(intercept: targets.isEmpty ? 0 : targets.reduce(0, +) / Double(sampleCount),
        weights: [Double](repeating: 0, count: featureCount))
    }
    let n = Double(sampleCount)
    let targetMean = targets.reduce(0, +) / n
    let means = features.map { $0.reduce(0, +) / n }
    var gram = [Double](repeating: 0, count: featureCount * featureCount)
    var rhs = [Double](repeating: 0, count: featureCount)
    for a in 0..<featureCount {
      for sample in 0..<sampleCount {
        rhs[a] += (features[a][sample] - means[a]) * (targets[sample] - targetMean)
      }
      for b in a..<featureCount {
        var sum = 0.0
        for sample in 0..<sampleCount {
          sum += (features[a][sample] - means[a]) * (features[b][sample] - means[b])
        }
        gram[a * featureCount + b] = sum
        gram[b * featureCount + a] = sum
      }
    }

    var weights = [Double](repeating: 0, count: featureCount)
    for _ in 0..<10_000 {
      var largestChange = 0.0
      for j in 0..<featureCount where gram[j * featureCount + j] > 0 {
        var gradient = -rhs[j]
        for k in 0..<featureCount { gradient += gram[j * featureCount + k] * weights[k] }
        let updated = max(0, weights[j] - gradient / gram[j * featureCount + j])
        largestChange = max(largestChange, abs(updated - weights[j]))
        weights[j] = updated
      }
      if largestChange < 1e-12 { break }
    }
    var intercept = targetMean
    for j in 0..<featureCount { intercept -= weights[j] * means[j] }
    return Solution(intercept: intercept, weights: weights)
  }
}
