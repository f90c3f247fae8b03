import XCTest
@testable import Elmo

/// Loading `path` fails with an `ElmoError` of `kind` whose message names every one of `parts`.
func assertLoadFails(_ path: String, kind: ElmoError.Kind = .invalidModel, contains parts: [String],
                     file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try ElmoModel(path: path), file: file, line: line) { error in
        guard let e = error as? ElmoError else { return XCTFail("not an ElmoError: \(error)", file: file, line: line) }
        XCTAssertEqual(e.kind, kind, e.message, file: file, line: line)
        for p in parts { XCTAssertTrue(e.message.contains(p), "'\(e.message)' lacks '\(p)'", file: file, line: line) }
    }
}
