import XCTest
import CElmoKernels
#if canImport(Glibc)
import Glibc
#endif

/// The one dispatch mechanism of every kernel family (dispatch.h): the default is the best
/// variant the CPU has, ELMO_<FAMILY>_KERNELS caps it by name, and the test hook forces the
/// best available at or below a level.
final class KernelDispatchTests: XCTestCase {
    static let names: [(elmo_kernel_family, String, [String])] = [
        (ELMO_KERNELS_FP32, "ELMO_FP32_KERNELS", ["baseline", "avx2", "avx512"]),
        (ELMO_KERNELS_GEMM, "ELMO_GEMM_KERNELS", ["baseline", "avx2", "avx512"]),
        (ELMO_KERNELS_BF16, "ELMO_BF16_KERNELS", ["baseline", "avx2", "avx512", "avx512_bf16"]),
        (ELMO_KERNELS_INT8, "ELMO_INT8_KERNELS", ["portable", "avx2", "avx_vnni", "avx512_vnni"]),
    ]

    override func tearDown() {
        for (_, variable, _) in Self.names { unsetenv(variable) }
        KernelVariants.restore()
    }

    func testEveryFamilyListsItsVariantsInOrder() {
        for (family, _, names) in Self.names {
            XCTAssertEqual(Int(elmo_kernel_variant_count(family)), names.count)
            XCTAssertEqual((0..<Int32(names.count)).map { String(cString: elmo_kernel_variant_name(family, $0)) }, names)
            XCTAssertNil(elmo_kernel_variant_name(family, Int32(names.count)))
            XCTAssertNil(elmo_kernel_variant_name(family, -1))
            XCTAssertEqual(elmo_kernel_variant_available(family, 0), 1, "the portable variant runs anywhere")
            XCTAssertEqual(elmo_kernel_variant_available(family, Int32(names.count)), 0)
        }
    }

    /// Forcing level L runs the best variant available at or below L, for every L.
    func testForcingTakesTheBestAvailableAtOrBelowTheLevel() {
        for (family, _, names) in Self.names {
            let available = KernelVariants.available(family)
            for level in 0..<Int32(names.count + 1) {
                let expected = available.last { $0 <= level }!
                XCTAssertEqual(elmo_kernel_force_variant(family, level), expected, "\(names) at \(level)")
                XCTAssertEqual(elmo_kernel_variant(family), expected)
                XCTAssertEqual(KernelVariants.name(family), names[Int(expected)])
            }
        }
    }

    /// Without the variables each family runs its best variant; each variable caps its own
    /// family only; an unknown name is ignored.
    func testEnvironmentVariableCapsItsFamily() {
        let best = Self.names.map { KernelVariants.available($0.0).last! }
        KernelVariants.restore()
        XCTAssertEqual(Self.names.map { elmo_kernel_variant($0.0) }, best)
        for (i, (family, variable, names)) in Self.names.enumerated() {
            for (level, name) in names.enumerated() {
                setenv(variable, name, 1)
                XCTAssertEqual(elmo_kernel_force_variant(family, -1), min(Int32(level), best[i]), "\(variable)=\(name)")
                XCTAssertEqual(KernelVariants.name(family), names[Int(min(Int32(level), best[i]))])
                for (j, other) in Self.names.enumerated() where j != i {
                    XCTAssertEqual(elmo_kernel_force_variant(other.0, -1), best[j], "\(variable) leaves \(other.1) alone")
                }
            }
            setenv(variable, "no-such-variant", 1)
            XCTAssertEqual(elmo_kernel_force_variant(family, -1), best[i])
            unsetenv(variable)
        }
    }
}
