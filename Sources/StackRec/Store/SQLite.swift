import CSQLite

/// A failed SQLite call, with SQLite's result code and message.
public struct SQLiteError: Error, CustomStringConvertible, Equatable {
  /// The primary result code, such as `SQLITE_CORRUPT` (11) or `SQLITE_NOTADB` (26).
  public var code: Int32
  public var message: String
  /// The statement or operation that failed.
  public var operation: String
  public var path: String

  public var description: String {
    "\(path): SQLite error \(code) (\(String(cString: sqlite3_errstr(code)))) in \(operation): \(message)"
  }
}

/// A connection to one SQLite database file.
///
/// Not `Sendable`: a connection belongs to the thread that opened it.
final class SQLiteDatabase {
  let handle: OpaquePointer
  let path: String

  enum Mode {
    /// Read-only; with `immutable`, SQLite also skips locking because the
    /// file is never modified in place (stores are replaced by rename).
    case readOnly(immutable: Bool)
    case createReadWrite
  }

  /// Opens the database at `path` (`sqlite3_open_v2`).
  init(path: String, mode: Mode) throws {
    var handle: OpaquePointer?
    let flags: Int32
    var name = path
    switch mode {
    case .readOnly(let immutable):
      flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX
      name = "file:" + percentEncodedPath(path) + (immutable ? "?immutable=1" : "")
    case .createReadWrite:
      flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
    }
    let status = sqlite3_open_v2(name, &handle, flags, nil)
    guard status == SQLITE_OK, let handle else {
      let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      if let handle { sqlite3_close_v2(handle) }
      throw SQLiteError(code: status, message: message, operation: "open", path: path)
    }
    self.handle = handle
    self.path = path
    sqlite3_extended_result_codes(handle, 0)
  }

  deinit {
    sqlite3_close_v2(handle)
  }

  /// Runs one or more statements that return no rows (`sqlite3_exec`).
  func execute(_ sql: String) throws {
    var errorMessage: UnsafeMutablePointer<CChar>?
    let status = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
    if status != SQLITE_OK {
      let message = errorMessage.map { String(cString: $0) } ?? lastMessage
      sqlite3_free(errorMessage)
      throw SQLiteError(code: status, message: message, operation: excerpt(sql), path: path)
    }
  }

  /// Prepares a statement (`sqlite3_prepare_v2`).
  func prepare(_ sql: String) throws -> SQLiteStatement {
    var statement: OpaquePointer?
    let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
    try check(status, sql)
    return SQLiteStatement(statement!, database: self, sql: sql)
  }

  /// The value of an integer pragma, such as `user_version`.
  func integerPragma(_ name: String) throws -> Int64 {
    let statement = try prepare("PRAGMA \(name)")
    guard try statement.step() else { return 0 }
    return statement.int64(0)
  }

  var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

  /// Throws unless `status` is OK, ROW or DONE.
  func check(_ status: Int32, _ operation: String) throws {
    guard status == SQLITE_OK || status == SQLITE_ROW || status == SQLITE_DONE else {
      throw SQLiteError(code: status, message: lastMessage, operation: excerpt(operation), path: path)
    }
  }
}

/// A prepared statement; finalized when released.
final class SQLiteStatement {
  let handle: OpaquePointer
  let database: SQLiteDatabase
  let sql: String

  init(_ handle: OpaquePointer, database: SQLiteDatabase, sql: String) {
    self.handle = handle
    self.database = database
    self.sql = sql
  }

  deinit {
    sqlite3_finalize(handle)
  }

  /// Advances to the next row (`sqlite3_step`).
  ///
  /// - Returns: true when a row is available, false when the statement is done.
  @discardableResult
  func step() throws -> Bool {
    let status = sqlite3_step(handle)
    if status == SQLITE_ROW { return true }
    if status == SQLITE_DONE { return false }
    throw SQLiteError(
      code: status, message: database.lastMessage, operation: excerpt(sql), path: database.path)
  }

  /// Resets the statement for another execution and clears its bindings.
  func reset() {
    sqlite3_reset(handle)
    sqlite3_clear_bindings(handle)
  }

  // MARK: - Binding (parameters are numbered from 1)

  func bind(_ index: Int32, _ value: Int64) throws {
    try database.check(sqlite3_bind_int64(handle, index, value), sql)
  }

  func bind(_ index: Int32, _ value: Double) throws {
    try database.check(sqlite3_bind_double(handle, index, value), sql)
  }

  func bind(_ index: Int32, _ value: String) throws {
    try database.check(
      sqlite3_bind_text(handle, index, value, -1, stackrec_sqlite_transient()), sql)
  }

  func bind(_ index: Int32, _ value: [UInt8]) throws {
    let status = value.withUnsafeBytes { buffer in
      sqlite3_bind_blob64(
        handle, index, buffer.baseAddress, sqlite3_uint64(buffer.count),
        stackrec_sqlite_transient())
    }
    try database.check(status, sql)
  }

  // MARK: - Reading columns (numbered from 0)

  func int64(_ column: Int32) -> Int64 {
    sqlite3_column_int64(handle, column)
  }

  func double(_ column: Int32) -> Double {
    sqlite3_column_double(handle, column)
  }

  func string(_ column: Int32) -> String {
    guard let text = sqlite3_column_text(handle, column) else { return "" }
    let length = Int(sqlite3_column_bytes(handle, column))
    return String(decoding: UnsafeBufferPointer(start: text, count: length), as: UTF8.self)
  }

  func blob(_ column: Int32) -> [UInt8] {
    let length = Int(sqlite3_column_bytes(handle, column))
    guard length > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
    return Array(UnsafeRawBufferPointer(start: bytes, count: length))
  }

  func isNull(_ column: Int32) -> Bool {
    sqlite3_column_type(handle, column) == SQLITE_NULL
  }
}

/// Escapes the characters that have a meaning in an SQLite URI filename.
private func percentEncodedPath(_ path: String) -> String {
  var result = ""
  for byte in path.utf8 {
    switch byte {
    case UInt8(ascii: "%"), UInt8(ascii: "?"), UInt8(ascii: "#"):
      result += "%" + String(byte, radix: 16, uppercase: true)
    default:
      result.unicodeScalars.append(Unicode.Scalar(byte))
    }
  }
  return result
}
