import Elmo
public enum FuzzHarness {
    public static func options(_ data: UnsafeRawBufferPointer) {
        _ = try? ElmoOptions.parse(json: data)
    }
}
