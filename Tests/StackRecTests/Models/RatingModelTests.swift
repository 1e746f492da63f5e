import Testing

@testable import StackRec

/// The contract every base model keeps: known pairs are predicted from
/// learned terms, and unknown users and items get the model's documented
/// fallback, flagged as such, in every scoring path.
@Suite struct RatingModelTests {
  // The training set of `BiasModelTests`: users 0-2 rate items 0-2, and user
  // 3 and item 3 have no ratings. mu = 3, b_u = (1.5, -1, -0.5, 0) and
  // b_i = (1, 0, -1, 0).
  static let training = makeTrainingSet(
    [(0, 0, 5), (0, 1, 4), (1, 0, 3), (1, 2, 1), (2, 1, 2), (2, 2, 3)],
    userCount: 4, itemCount: 4)
  static let knownPairs: [(Int32, Int32)] = [(0, 0), (0, 2), (1, 1), (2, 0), (2, 2)]
  static let unknownUsers: [Int32] = [3, -1, 1000]
  static let unknownItems: [Int32] = [3, -1, 1000]

  enum ModelKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case bias
    case itemKNN
    case matrixFactorization

    var description: String { rawValue }

    func fit(_ training: TrainingSet) -> any RatingModel {
      switch self {
      case .bias: BiasModel.fit(training)
      case .itemKNN: ItemKNNModel.fit(training)
      case .matrixFactorization: MatrixFactorizationModel.fit(training)
      }
    }

    var key: String {
      switch self {
      case .bias: "bias"
      case .itemKNN: "item_knn"
      case .matrixFactorization: "mf"
      }
    }

    /// The documented score for an unknown user, by item: `mu + b_i` for
    /// the bias model and `mu` for the others.
    var unknownUserScores: [Double] {
      self == .bias ? [4, 3, 2, 3] : [3, 3, 3, 3]
    }

    /// The documented score for an unknown item, by user: `mu + b_u` for
    /// the bias model and `mu` for the others.
    var unknownItemScores: [Double] {
      self == .bias ? [4.5, 2, 2.5, 3] : [3, 3, 3, 3]
    }
  }

  @Test(arguments: ModelKind.allCases)
  func keyMatchesReportName(kind: ModelKind) {
    #expect(kind.fit(Self.training).key == kind.key)
  }

  @Test(arguments: ModelKind.allCases)
  func knownPairHasNoFallback(kind: ModelKind) {
    let model = kind.fit(Self.training)
    for (user, item) in Self.knownPairs {
      let prediction = model.predict(user: user, item: item)
      #expect(prediction.fallback == .none, "user \(user), item \(item)")
      #expect(prediction.value.isFinite, "user \(user), item \(item)")
    }
  }

  @Test(arguments: ModelKind.allCases)
  func unknownUserFallsBack(kind: ModelKind) {
    let model = kind.fit(Self.training)
    for user in Self.unknownUsers {
      let prediction = model.predict(user: user, item: 0)
      #expect(prediction.fallback == .unknownUser, "user \(user)")
      #expect(isClose(prediction.value, kind.unknownUserScores[0]), "user \(user)")
    }
  }

  @Test(arguments: ModelKind.allCases)
  func unknownItemFallsBack(kind: ModelKind) {
    let model = kind.fit(Self.training)
    for item in Self.unknownItems {
      let prediction = model.predict(user: 0, item: item)
      #expect(prediction.fallback == .unknownItem, "item \(item)")
      #expect(isClose(prediction.value, kind.unknownItemScores[0]), "item \(item)")
    }
  }

  @Test(arguments: ModelKind.allCases)
  func unknownUserAndItemFallBack(kind: ModelKind) {
    let model = kind.fit(Self.training)
    for (user, item) in zip(Self.unknownUsers, Self.unknownItems) {
      let prediction = model.predict(user: user, item: item)
      #expect(prediction.fallback == .unknownUserAndItem, "user \(user), item \(item)")
      #expect(isClose(prediction.value, 3), "user \(user), item \(item)")
    }
  }

  @Test(arguments: ModelKind.allCases)
  func unknownScoreListsMatchFallbacks(kind: ModelKind) {
    let model = kind.fit(Self.training)
    #expect(model.unknownUserScores() == kind.unknownUserScores.map(Float.init))
    #expect(model.unknownItemScores() == kind.unknownItemScores.map(Float.init))
    #expect(model.unknownUserAndItemScore() == 3)
  }

  @Test(arguments: ModelKind.allCases)
  func batchPredictMatchesSinglePredict(kind: ModelKind) {
    let model = kind.fit(Self.training)
    let pairs = allPairs(userCount: 4, itemCount: 4)
    let batch = model.predict(users: pairs.users, items: pairs.items)
    #expect(batch.count == pairs.users.count)
    for (position, (user, item)) in zip(pairs.users, pairs.items).enumerated() {
      let single = model.predict(user: user, item: item).value
      #expect(batch[position] == single, "user \(user), item \(item)")
    }
  }

  @Test(arguments: ModelKind.allCases)
  func scoreAllMatchesPredict(kind: ModelKind) {
    let model = kind.fit(Self.training)
    // Users 1, 2 and 3: a slice that starts past the first row and ends on
    // the unknown user.
    var scores = [Float](repeating: .nan, count: 3 * 4)
    scores.withUnsafeMutableBufferPointer { model.scoreAll(users: 1..<4, into: $0) }
    for (row, user) in (1..<4).enumerated() {
      for item in 0..<4 {
        let expected = Float(model.predict(user: Int32(user), item: Int32(item)).value)
        #expect(scores[row * 4 + item] == expected, "user \(user), item \(item)")
      }
    }
  }

  @Test(arguments: ModelKind.allCases)
  func scoreMatrixMatchesPredict(kind: ModelKind) {
    let model = kind.fit(Self.training)
    var scores = [Float](repeating: .nan, count: 4 * 4)
    scores.withUnsafeMutableBufferPointer { model.scoreMatrix(into: $0) }
    for user in 0..<4 {
      for item in 0..<4 {
        let expected = Float(model.predict(user: Int32(user), item: Int32(item)).value)
        #expect(scores[user * 4 + item] == expected, "user \(user), item \(item)")
      }
    }
  }
}
