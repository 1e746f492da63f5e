import Foundation
import StackRec

/// The candidate-limited pipeline on synthetic data of a given size.
struct ScaleBench {
  let settings: BenchCommand.Settings
  let tools: Tools
  let work: String

  func run(ratings: Int) throws -> [Figure] {
    []
  }
}
