/// Switches for benchmarks that compare alternatives the library chooses between on its own
/// (`package`: the benchmark target sees them, `import Elmo` users do not). Results never depend on them, only
/// speed does.
package enum ElmoBenchmarkHooks {
    /// How the four LSTMs of every later call share the threads: "parallel" (forward and
    /// backward at once, each by half the threads: the fp32 default), "sequential" (one
    /// LSTM after another by all threads, so that one LSTM's weights stay in L3: the bf16
    /// default) or nil (the model's precision decides). Set it before any session runs.
    package static var lstmSchedule: String? {
        get {
            switch Encoder.scheduleOverride {
            case .directionsInParallel: return "parallel"
            case .oneLSTMAtATime: return "sequential"
            case nil: return nil
            }
        }
        set {
            switch newValue {
            case "parallel": Encoder.scheduleOverride = .directionsInParallel
            case "sequential": Encoder.scheduleOverride = .oneLSTMAtATime
            default: Encoder.scheduleOverride = nil
            }
        }
    }
}
