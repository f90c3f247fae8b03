import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A reusable barrier for the few threads that share one LSTM's timesteps. Waits are
/// short (one kernel call), so threads spin briefly, then yield the processor so that an
/// oversubscribed machine still makes progress.
final class TeamBarrier: Sendable {
    let size: Int
    private let arrived = Atomic<Int>(0)
    private let generation = Atomic<Int>(0)

    init(size: Int) {
        self.size = max(1, size)
    }

    func wait() {
        guard size > 1 else { return }
        let gen = generation.load(ordering: .acquiring)
        if arrived.add(1, ordering: .acquiringAndReleasing).newValue == size {
            arrived.store(0, ordering: .relaxed)
            generation.store(gen &+ 1, ordering: .releasing)
            return
        }
        var spins = 0
        while generation.load(ordering: .acquiring) == gen {
            spins += 1
            if spins > 2000 { sched_yield() }
        }
    }
}

/// One thread's place in the team running an LSTM: which share of the kernels' column
/// panels it computes, and the barrier it meets the others at.
struct TeamMember {
    let rank: Int
    let barrier: TeamBarrier
    var size: Int { barrier.size }

    static let alone = TeamMember(rank: 0, barrier: TeamBarrier(size: 1))

    /// This member's contiguous share [begin, end) of `count` items.
    func share(_ count: Int) -> Range<Int> {
        (count * rank / size)..<(count * (rank + 1) / size)
    }
}
