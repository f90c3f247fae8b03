import Foundation
@testable import Elmo

/// Runs a program and returns its standard output; throws if it fails.
func runProcess(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = Pipe()
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ElmoError(.io, "\(executable) exited with status \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}
