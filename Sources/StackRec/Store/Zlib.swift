import CZlib

/// A failed zlib call.
public struct ZlibError: Error, CustomStringConvertible, Equatable {
  /// zlib's return code, such as `Z_DATA_ERROR` (-3).
  public var code: Int32
  public var operation: String

  public var description: String {
    let name: String
    switch code {
    case Z_DATA_ERROR: name = "corrupt or truncated data"
    case Z_BUF_ERROR: name = "output size does not match"
    case Z_MEM_ERROR: name = "out of memory"
    default: name = "zlib error \(code)"
    }
    return "\(operation) failed: \(name)"
  }
}

/// One-shot zlib compression (`compress2`, `uncompress`) and CRC-32.
enum Zlib {
  /// Compresses `bytes` into the zlib format at `level` (0-9).
  static func compress(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: Int(compressBound(uLong(bytes.count))))
    var outputLength = uLongf(output.count)
    let status = output.withUnsafeMutableBufferPointer { out in
      bytes.withUnsafeBufferPointer { input in
        compress2(out.baseAddress, &outputLength, input.baseAddress, uLong(input.count), level)
      }
    }
    guard status == Z_OK else { throw ZlibError(code: status, operation: "compress") }
    output.removeLast(output.count - Int(outputLength))
    return output
  }

  /// Decompresses zlib data that must expand to exactly `expectedSize` bytes.
  static func decompress(_ bytes: [UInt8], expectedSize: Int) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: expectedSize)
    try decompress(bytes, into: &output)
    return output
  }

  /// Decompresses zlib data into `output`, which it must fill exactly.
  static func decompress(_ bytes: [UInt8], into output: inout [UInt8]) throws {
    // One spare byte tells an exact fit from data that would run longer.
    let expectedSize = output.count
    output.append(0)
    var outputLength = uLongf(output.count)
    let status = output.withUnsafeMutableBufferPointer { out in
      bytes.withUnsafeBufferPointer { input in
        uncompress(out.baseAddress, &outputLength, input.baseAddress, uLong(input.count))
      }
    }
    output.removeLast()
    guard status == Z_OK else { throw ZlibError(code: status, operation: "decompress") }
    guard Int(outputLength) == expectedSize else {
      throw ZlibError(code: Z_BUF_ERROR, operation: "decompress")
    }
  }

  /// Decompresses zlib data of at most `maxSize` bytes.
  static func decompress(_ bytes: [UInt8], maxSize: Int) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: maxSize)
    var outputLength = uLongf(output.count)
    let status = output.withUnsafeMutableBufferPointer { out in
      bytes.withUnsafeBufferPointer { input in
        uncompress(out.baseAddress, &outputLength, input.baseAddress, uLong(input.count))
      }
    }
    guard status == Z_OK else { throw ZlibError(code: status, operation: "decompress") }
    output.removeLast(output.count - Int(outputLength))
    return output
  }

  /// The CRC-32 of `bytes` (`crc32`, the polynomial of zip and PNG).
  static func crc32(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBufferPointer { buffer in
      UInt32(CZlib.crc32(uLong(initial), buffer.baseAddress, uInt(buffer.count)))
    }
  }
}
