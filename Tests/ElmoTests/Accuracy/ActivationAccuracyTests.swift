import XCTest
import CElmoKernels
import Foundation

/// The kernels' exp, sigmoid and tanh (the scalar definitions every vector lane reproduces
/// bit for bit) against float64 over their whole range, in units in the last place of the
/// float64 value's binade.
final class ActivationAccuracyTests: XCTestCase {
    struct Worst: CustomStringConvertible {
        var ulps = 0.0, at: Float = 0
        var description: String { String(format: "%.3f ulp at %g", ulps, Double(at)) }
    }

    static func ulps(_ y: Float, _ exact: Double) -> Double {
        let exponent = max(Int(exact.exponent), -126)
        return abs(Double(y) - exact) / Double(sign: .plus, exponent: exponent - 23, significand: 1)
    }

    /// Every 20,011th float in [-limit, limit] (about 110,000), every float in the windows
    /// given (where two formulas meet), and every 509th float of |x| < 1e-3.
    static func sweep(limit: Float, windows: [ClosedRange<Float>], smallest: Double,
                      _ f: (Float) -> Float, _ exact: (Double) -> Double) -> (all: Worst, nearZero: Worst) {
        var all = Worst(), nearZero = Worst()
        func check(_ x: Float) {
            let r = exact(Double(x))
            guard abs(r) >= smallest else { return }
            let e = ulps(f(x), r)
            if e > all.ulps { all = Worst(ulps: e, at: x) }
            if abs(x) < 1e-3 && e > nearZero.ulps { nearZero = Worst(ulps: e, at: x) }
        }
        for bits in stride(from: UInt32(0), to: limit.bitPattern, by: 20011) {
            check(Float(bitPattern: bits))
            check(-Float(bitPattern: bits))
        }
        for w in windows {
            var x = w.lowerBound
            while x <= w.upperBound { check(x); check(-x); x = x.nextUp }
        }
        for bits in stride(from: UInt32(1), to: Float(1e-3).bitPattern, by: 509) {
            check(Float(bitPattern: bits))
            check(-Float(bitPattern: bits))
        }
        return (all, nearZero)
    }

    func testExpIsWithinOneUlp() {
        let (all, _) = Self.sweep(limit: 88, windows: [], smallest: 0x1p-126, { elmo_kernel_exp($0) }, Foundation.exp)
        print("exp: max \(all)")
        XCTAssertLessThan(all.ulps, 0.95)
    }

    func testTanhIsNearlyCorrectlyRoundedEverywhere() {
        let (all, nearZero) = Self.sweep(limit: 100, windows: [0.624...0.6265], smallest: 0x1p-126,
                                         { elmo_kernel_tanh($0) }, Foundation.tanh)
        print("tanh: max \(all); |x| < 1e-3: \(nearZero)")
        XCTAssertLessThan(all.ulps, 1.5)
        XCTAssertLessThanOrEqual(nearZero.ulps, 0.501)
    }

    func testSigmoidIsNearlyCorrectlyRoundedEverywhere() {
        let (all, nearZero) = Self.sweep(limit: 100, windows: [1.249...1.2515], smallest: 0x1p-126,
                                         { elmo_kernel_sigmoid($0) }, { 1 / (1 + Foundation.exp(-$0)) })
        print("sigmoid: max \(all); |x| < 1e-3: \(nearZero)")
        XCTAssertLessThan(all.ulps, 2.4)
        XCTAssertLessThanOrEqual(nearZero.ulps, 0.501)
    }
}
