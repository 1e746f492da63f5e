import Foundation
import Testing

@testable import StackRec

@Suite struct ReportTests {
  static let report = Report(
    dataset: Report.DatasetSummary(
      source: "ratings.csv", fingerprint: "abc", ratings: ExperimentTests.dataset.ratings.count,
      users: 40, items: 25, droppedDuplicates: 2, ratingScale: 0.5...5),
    splitDescription: .string("files"), parameters: .object([("seed", .integer(3))]),
    result: ExperimentTests.result)

  /// Parses the report's JSON text with Foundation, as a consumer would.
  static func parsedJSON() throws -> [String: Any] {
    let data = Data(report.json.serialized().utf8)
    let object = try JSONSerialization.jsonObject(with: data)
    return try #require(object as? [String: Any])
  }

  @Test func tableListsModelsBestFirst() throws {
    let lines = Self.report.table.split(separator: "\n").map(String.init)
    let header = try #require(lines.first)
    #expect(header.hasPrefix("model"))
    #expect(header.contains("test RMSE"))

    let rows = lines.dropFirst().prefix(8).map { $0.split(separator: " ").map(String.init) }
    let keys = rows.map { $0[0] }
    let rmses = rows.map { Double($0[1]) ?? .nan }
    #expect(Set(keys) == ["bias", "item_knn", "mf", "average", "stacked", "ridge", "nnls", "fwls"])
    #expect(rmses == rmses.sorted())
    for (key, rmse) in zip(keys, rmses) {
      let accuracy = try #require(ExperimentTests.result.test.first { $0.key == key })
      #expect(isClose(rmse, accuracy.rmse, tolerance: 5e-7), "\(key)")
    }
  }

  @Test func tableEndsWithMetaModel() throws {
    let last = try #require(Self.report.table.split(separator: "\n").last)
    #expect(last.hasPrefix("served blend (stacked): intercept "))
    #expect(last.contains("bias "))
    #expect(last.contains("item_knn "))
    #expect(last.contains("mf "))
  }

  @Test func jsonHasAccuracyForEveryKey() throws {
    let json = try Self.parsedJSON()
    for section in ["test_rmse", "test_rmse_clipped", "test_mae", "test_mae_clipped"] {
      let values = try #require(json[section] as? [String: Double], "\(section)")
      #expect(
        Set(values.keys)
          == ["bias", "item_knn", "mf", "average", "stacked", "ridge", "nnls", "fwls", "best"],
        "\(section)")
    }
    let rmse = try #require(json["test_rmse"] as? [String: Double])
    for accuracy in ExperimentTests.result.test {
      let value = try #require(rmse[accuracy.key])
      #expect(isClose(value, accuracy.rmse, tolerance: 1e-9), "\(accuracy.key)")
    }
  }

  @Test func jsonDescribesDatasetAndSplit() throws {
    let json = try Self.parsedJSON()
    let dataset = try #require(json["dataset"] as? [String: Any])
    let split = try #require(json["split"] as? [String: Any])
    #expect(dataset["source"] as? String == "ratings.csv")
    #expect(dataset["dropped_duplicates"] as? Int == 2)
    #expect(dataset["rating_scale"] as? [Double] == [0.5, 5])
    #expect(split["base_train"] as? Int == ExperimentTests.split.baseTrain.count)
    #expect(split["meta_train"] as? Int == ExperimentTests.split.metaTrain.count)
    #expect(split["test"] as? Int == ExperimentTests.split.test.count)
    #expect(split["protocol"] as? String == "files")
  }

  @Test func jsonHoldsMetaModelWeights() throws {
    let json = try Self.parsedJSON()
    let meta = try #require(json["meta_model"] as? [String: Any])
    let weights = try #require(meta["weights"] as? [String: Double])
    let intercept = try #require(meta["intercept"] as? Double)
    let stacker = ExperimentTests.result.stacker
    // NOTE: JSONSerialization in swift-corelibs-foundation 6.3 can parse a
    // number 1 ulp away from the nearest double, so compare with a tolerance.
    #expect(isClose(intercept, stacker.intercept, tolerance: 1e-12))
    #expect(isClose(try #require(weights["bias"]), stacker.weights[0], tolerance: 1e-12))
    #expect(isClose(try #require(weights["item_knn"]), stacker.weights[1], tolerance: 1e-12))
    #expect(isClose(try #require(weights["mf"]), stacker.weights[2], tolerance: 1e-12))
  }
}
