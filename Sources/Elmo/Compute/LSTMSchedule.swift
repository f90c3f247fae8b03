extension Encoder {
    /// How the four LSTMs share the threads (results are bit-identical either way: every
    /// value is computed by the same kernel arithmetic whatever the split).
    enum LSTMSchedule: Equatable {
        /// Forward and backward at once, each by a team of half the threads.
        case directionsInParallel
        /// One (layer, direction) after another, each by a team of all threads.
        case oneLSTMAtATime

        /// Runs layers 0..<layerCount of both directions on `workers`: `lstm(direction, layer,
        /// member)` is called by every member of the team running that LSTM, each direction's
        /// layers in order.
        func run(layerCount: Int, workers: WorkerThreads,
                 _ lstm: (_ direction: Int, _ layer: Int, _ member: TeamMember) -> Void) {
            // Team members wait for each other, so only threads that are really running count.
            let running = workers.readyThreadCount()
            switch self {
            case .oneLSTMAtATime:
                let barrier = TeamBarrier(size: running)
                workers.run(tasks: running) { task in
                    let member = TeamMember(rank: task, barrier: barrier)
                    for layer in 0..<layerCount {
                        for direction in 0..<2 { lstm(direction, layer, member) }
                    }
                }
            case .directionsInParallel:
                // One team per direction (the larger one forward), or one thread for both.
                let forwardTeam = running >= 2 ? (running + 1) / 2 : 1
                let backwardTeam = running >= 2 ? running / 2 : 1
                let barriers = [TeamBarrier(size: forwardTeam), TeamBarrier(size: backwardTeam)]
                let tasks = running >= 2 ? running : 1
                workers.run(tasks: tasks) { task in
                    let directions = tasks == 1 ? [0, 1] : [task < forwardTeam ? 0 : 1]
                    for direction in directions {
                        let member = TeamMember(rank: task < forwardTeam ? task : task - forwardTeam, barrier: barriers[direction])
                        for layer in 0..<layerCount { lstm(direction, layer, member) }
                    }
                }
            }
        }
    }
}
