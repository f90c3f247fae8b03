// Clocks, memory and machine facts for the benchmark.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic wall-clock seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU seconds used by this process so far (all threads, user + system).
func processCPUSeconds() -> Double {
    var ru = rusage()
    getrusage(RUSAGE_SELF.rawValue, &ru)
    return Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) * 1e-6
        + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) * 1e-6
}

/// Peak resident set size of this process so far, in bytes: VmHWM of /proc/self/status.
/// (getrusage's ru_maxrss is not used: Linux carries the parent's peak into a child that
/// was spawned with vfork semantics, as Foundation's Process does.)
func peakRSSBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
    }
    return 0
}

/// Fields of /proc/PID/smaps_rollup (or statm for self), in bytes.
func memoryRollup(pid: Int32? = nil) -> [String: Int] {
    let path = "/proc/\(pid.map(String.init) ?? "self")/smaps_rollup"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
    var out: [String: Int] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count >= 3, parts[2] == "kB", let v = Int(parts[1]) {
            out[String(parts[0].dropLast())] = v * 1024
        }
    }
    return out
}

/// Current resident set size in bytes.
func currentRSSBytes() -> Int { memoryRollup()["Rss"] ?? 0 }

/// Busy and total jiffies of all CPUs (from /proc/stat), to see how much of the machine
/// other processes used during a measurement.
func cpuJiffies() -> (busy: Double, total: Double) {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
          let line = text.split(separator: "\n").first else { return (0, 0) }
    let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard v.count >= 5 else { return (0, 0) }
    let idle = v[3] + v[4]
    let total = v.reduce(0, +)
    return (total - idle, total)
}

/// One measurement's view of how busy the rest of the machine was: CPU-seconds used by
/// other processes per second of wall time (0 = quiet machine, 1 = one core taken).
struct Noise {
    private let start = cpuJiffies()
    private let startCPU = processCPUSeconds()
    private let startWall = now()

    func otherCores() -> Double {
        let end = cpuJiffies()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let busy = (end.busy - start.busy) / ticks
        let mine = processCPUSeconds() - startCPU
        let wall = now() - startWall
        return wall > 0 ? max(0, (busy - mine) / wall) : 0
    }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = p / 100 * Double(sorted.count - 1)
    let lo = Int(rank.rounded(.down)), hi = Int(rank.rounded(.up))
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
}

/// CPU model, core count, memory, kernel: for the record.
func machineDescription() -> [String: String] {
    var info: [String: String] = [:]
    if let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
        func field(_ name: String) -> String? {
            cpu.split(separator: "\n").first { $0.hasPrefix(name) }?
                .split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        info["cpu"] = field("model name")
        // 25 is Zen 3/Zen 4, 26 Zen 5 (AMD); the model name alone does not always say.
        info["cpuFamily"] = field("cpu family")
    }
    info["cores"] = String(ProcessInfo.processInfo.activeProcessorCount)
    info["memory"] = String(format: "%.1f GiB", Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30))
    var u = utsname()
    uname(&u)
    let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    info["kernel"] = "Linux " + release
    return info
}
