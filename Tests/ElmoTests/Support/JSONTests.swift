import XCTest
@testable import Elmo

final class JSONTests: XCTestCase {
    func testParsesAndWrites() throws {
        let v = try JSONValue.parse(#" {"a": [1, 2.5, -3e2, true, false, null], "b": "x\"\u00e9\ud83c\udf89\n"} "#)
        XCTAssertEqual(v["a"], .array([.number(1), .number(2.5), .number(-300), .bool(true), .bool(false), .null]))
        XCTAssertEqual(v["b"]?.stringValue, "x\"é🎉\n")
        XCTAssertEqual(v.serialized, #"{"a":[1,2.5,-300,true,false,null],"b":"x\"é🎉\n"}"#)
        XCTAssertEqual(try JSONValue.parse(v.serialized), v)
    }

    func testRejectsWhatIsNotJSON() {
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "tru", "{\"a\":1}x",
                    "{\"a\":1,\"a\":2}", "\"\\ud800\"", String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
                    String(repeating: "[", count: 513)] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
        XCTAssertNoThrow(try JSONValue.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
    }

    /// Found by fuzzing (Fuzz/regressions/options/json-number-overflows-to-infinity): a number
    /// beyond Double's range parsed as infinity, which has no JSON spelling (it was written
    /// back as null). Such numbers are refused; the largest finite ones still parse.
    func testNumbersBeyondDoubleRangeAreRefused() {
        for bad in ["1e400", "-1e400", "[2222E22222222222222222222222]", "{\"dim\": 1e309}"] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad) { error in
                XCTAssertTrue("\(error)".contains("number out of range"), "\(error)")
            }
        }
        XCTAssertEqual(try JSONValue.parse("1.7976931348623157e308"), .number(.greatestFiniteMagnitude))
        XCTAssertEqual(try JSONValue.parse("1e-400"), .number(0))  // underflow to zero is representable
    }

    func testIntegerAccess() {
        XCTAssertEqual(JSONValue.number(3).intValue, 3)
        XCTAssertEqual(JSONValue.number(3.0).intValue, 3)
        XCTAssertNil(JSONValue.number(3.5).intValue)
        XCTAssertNil(JSONValue.number(1e300).intValue)
    }
}
