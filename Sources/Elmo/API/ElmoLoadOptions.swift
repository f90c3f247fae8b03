/// How to load a model.
public struct ElmoLoadOptions: Equatable, Sendable {
    /// The default token-cache bound: 32 MiB, about 15,000 tokens of the original model.
    public static let defaultTokenCacheBytes = 32 << 20

    /// Memory the token-layer cache may use, in bytes; 0 disables the cache. Results are
    /// bit-identical with any value: the cache only saves recomputing a token's vector.
    public var tokenCacheBytes: Int

    /// The number format to compute with (see `ElmoPrecision`); default `.fp32`, exact.
    /// Weights stored in another precision are converted at load: fp32 to bf16 rounds to
    /// nearest even; a bf16 native file loaded as fp32 is widened exactly (fp32 arithmetic
    /// on the bf16 weights, not the original fp32 model's results).
    public var precision: ElmoPrecision

    /// Load options; the defaults load at `.fp32` with a 32 MiB token cache.
    public init(tokenCacheBytes: Int = ElmoLoadOptions.defaultTokenCacheBytes, precision: ElmoPrecision = .fp32) {
        self.tokenCacheBytes = tokenCacheBytes
        self.precision = precision
    }
}
