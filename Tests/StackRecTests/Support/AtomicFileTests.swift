import Foundation
import Glibc
import Testing

@testable import StackRec

@Suite struct AtomicFileTests {
  static func contents(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  @Test func writesWholeContent() throws {
    try withTemporaryDirectory { directory in
      let path = directory + "/report.json"
      try writeFileAtomically(path, Array("{\"a\": 1}\n".utf8))
      #expect(try Self.contents(path) == Array("{\"a\": 1}\n".utf8))
      #expect(try directoryEntries(directory) == ["report.json"])
    }
  }

  @Test func replacesExistingFile() throws {
    try withTemporaryDirectory { directory in
      let path = try writeFixture("old content that is longer", named: "out.txt", in: directory)
      try writeFileAtomically(path, Array("new".utf8))
      #expect(try Self.contents(path) == Array("new".utf8))
      #expect(try directoryEntries(directory) == ["out.txt"])
    }
  }

  @Test func writesEmptyFile() throws {
    try withTemporaryDirectory { directory in
      let path = directory + "/empty"
      try writeFileAtomically(path, [])
      #expect(try Self.contents(path) == [])
    }
  }

  @Test func writesLargeFile() throws {
    try withTemporaryDirectory { directory in
      let path = directory + "/large.bin"
      let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
      try writeFileAtomically(path, bytes)
      #expect(try Self.contents(path) == bytes)
    }
  }

  @Test func missingDirectoryThrows() throws {
    try withTemporaryDirectory { directory in
      let path = directory + "/missing/report.json"
      let error = try #require(throws: OutputError.self) {
        try writeFileAtomically(path, Array("x".utf8))
      }
      guard case .cannotWrite(let reported, _) = error else {
        Issue.record("expected cannotWrite, got \(error)")
        return
      }
      #expect(reported == path)
      #expect(try directoryEntries(directory) == [])
    }
  }

  @Test func failedRenameLeavesNoTemporaryFile() throws {
    // A non-empty directory is at the target path, so the temporary file
    // is written but cannot be renamed over it.
    try withTemporaryDirectory { directory in
      let path = directory + "/report.json"
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
      try writeFixture("keep", named: "inside", in: path)

      let error = try #require(throws: OutputError.self) {
        try writeFileAtomically(path, Array("x".utf8))
      }
      guard case .cannotWrite(let reported, _) = error else {
        Issue.record("expected cannotWrite, got \(error)")
        return
      }
      #expect(reported == path)
      #expect(try directoryEntries(directory) == ["report.json"])
      #expect(try directoryEntries(path) == ["inside"])
    }
  }

  // Root bypasses directory permissions, so this case can only run as
  // another user.
  @Test(.enabled(if: geteuid() != 0, "root can write to a read-only directory"))
  func unwritableDirectoryThrows() throws {
    try withTemporaryDirectory { directory in
      let locked = directory + "/locked"
      try FileManager.default.createDirectory(
        atPath: locked, withIntermediateDirectories: false,
        attributes: [.posixPermissions: 0o555])
      defer { chmod(locked, 0o755) }

      #expect(throws: OutputError.self) {
        try writeFileAtomically(locked + "/report.json", Array("x".utf8))
      }
      #expect(try directoryEntries(locked) == [])
    }
  }

  @Test func createDirectoriesMakesParents() throws {
    try withTemporaryDirectory { directory in
      let path = directory + "/a/b/c"
      try createDirectories(path)
      try createDirectories(path)
      var isDirectory: ObjCBool = false
      #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory))
      #expect(isDirectory.boolValue)
    }
  }

  @Test func createDirectoriesRejectsExistingFile() throws {
    try withTemporaryDirectory { directory in
      let file = try writeFixture("x", named: "report", in: directory)
      let error = try #require(throws: OutputError.self) { try createDirectories(file) }
      guard case .cannotCreateDirectory(let reported, _) = error else {
        Issue.record("expected cannotCreateDirectory, got \(error)")
        return
      }
      #expect(reported == file)
    }
  }

  @Test(arguments: [
    ("a/b/c.json", "a/b"), ("c.json", "."), ("/c.json", "/"), ("/a/c.json", "/a"),
  ])
  func parentDirectoryOfPath(path: String, parent: String) {
    #expect(parentDirectory(of: path) == parent)
  }
}
