import CElmoKernels
#if canImport(Glibc)
import Glibc
#endif

/// The helper threads of one session: `run(tasks:)` executes task 0 on the calling thread
/// and the others on helper threads, and returns when all are done. Threads are created at
/// the first call that needs them, sleep (no spinning) between calls, and end with the
/// session. One session's calls are serialised, so there is never more than one job.
final class WorkerThreads: @unchecked Sendable {
    /// Helper threads this pool may start (the session's thread count minus the caller).
    let helperCount: Int

    private var threads: [pthread_t] = []
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private let done: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `mutex`.
    private var job: ((Int) -> Void)?
    private var generation = 0
    private var nextTask = 0
    private var taskCount = 0
    private var unfinished = 0
    private var stopping = false

    init(helpers: Int) {
        helperCount = max(0, helpers)
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        done = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    deinit {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
    }

    /// Runs `body(0)`, ..., `body(tasks - 1)`, spread over the caller and up to `tasks - 1`
    /// helpers (fewer if the pool has fewer, or they could not be started: tasks then run
    /// on the threads there are). Returns when every task has finished.
    func run(tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 1, helperCount > 0 else {
            for i in 0..<max(tasks, 0) { body(i) }
            return
        }
        startThreads(min(helperCount, tasks - 1))
        withoutActuallyEscaping(body) { body in
            pthread_mutex_lock(mutex)
            job = body
            nextTask = 1
            taskCount = tasks
            unfinished = tasks
            generation += 1
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
            // The caller takes task 0, then helps with whatever is left.
            var task = 0
            while true {
                body(task)
                pthread_mutex_lock(mutex)
                unfinished -= 1
                if nextTask < taskCount {
                    task = nextTask
                    nextTask += 1
                    pthread_mutex_unlock(mutex)
                    continue
                }
                while unfinished > 0 { pthread_cond_wait(done, mutex) }
                job = nil
                pthread_mutex_unlock(mutex)
                break
            }
        }
    }

    private func startThreads(_ wanted: Int) {
        while threads.count < wanted {
            var thread = pthread_t()
            let context = Unmanaged.passUnretained(self).toOpaque()
            guard pthread_create(&thread, nil, { raw in
                Unmanaged<WorkerThreads>.fromOpaque(raw!).takeUnretainedValue().workerLoop()
                return nil
            }, context) == 0 else { return }  // no thread: the caller does the work itself
            threads.append(thread)
        }
    }

    private func workerLoop() {
        pthread_mutex_lock(mutex)
        var seen = generation
        while true {
            while !stopping && (generation == seen || nextTask >= taskCount) {
                if generation != seen && nextTask >= taskCount { seen = generation }
                pthread_cond_wait(wake, mutex)
            }
            if stopping { break }
            seen = generation
            while nextTask < taskCount, job != nil {
                let task = nextTask
                nextTask += 1
                var body = job
                pthread_mutex_unlock(mutex)
                body?(task)
                // Drop the reference before reporting completion: `run` checks that the
                // closure has not escaped once every task is done.
                body = nil
                pthread_mutex_lock(mutex)
                unfinished -= 1
                if unfinished == 0 { pthread_cond_signal(done) }
            }
        }
        pthread_mutex_unlock(mutex)
    }
}

/// Processors this process may run on (its CPU affinity), at least 1.
func availableProcessors() -> Int {
    Int(elmo_available_processors())
}
