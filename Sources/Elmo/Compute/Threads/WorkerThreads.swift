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
    /// What the helper threads share with the caller. The threads hold it, not this
    /// object, so that this object's end (the session's) can stop and join them.
    private var queue = JobQueue()
    /// The process the threads were started in. A child made by fork() has none of them
    /// (only the forking thread survives), so it starts its own.
    private var ownerProcess = getpid()

    init(helpers: Int) {
        helperCount = max(0, helpers)
    }

    deinit {
        guard getpid() == ownerProcess else { return }  // a fork()ed child owns no threads
        queue.stop()
        for t in threads { pthread_join(t, nil) }
    }

    /// Starts the helper threads (if not yet running) and returns how many threads a call
    /// can use: the caller plus the helpers that could be started.
    func readyThreadCount() -> Int {
        startThreads(helperCount)
        return threads.count + 1
    }

    /// Runs `body(0)`, ..., `body(tasks - 1)`, spread over the caller and up to `tasks - 1`
    /// helpers, and returns when every task has finished. Tasks that wait for each other
    /// (at a barrier) must number at most `readyThreadCount()`, so that all run at once;
    /// independent tasks may be more numerous (they then queue).
    func run(tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 1, helperCount > 0 else {
            for i in 0..<max(tasks, 0) { body(i) }
            return
        }
        startThreads(min(helperCount, tasks - 1))
        withoutActuallyEscaping(body) { queue.run(tasks: tasks, $0) }
    }

    private func startThreads(_ wanted: Int) {
        if getpid() != ownerProcess {
            // After fork(): the threads (and any state of the old queue) stayed in the parent.
            threads = []
            queue = JobQueue()
            ownerProcess = getpid()
        }
        while threads.count < wanted {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(queue).toOpaque()
            guard pthread_create(&thread, nil, { raw in
                let queue = Unmanaged<JobQueue>.fromOpaque(raw!).takeRetainedValue()
                queue.serve()
                return nil
            }, context) == 0 else {
                Unmanaged<JobQueue>.fromOpaque(context).release()
                return  // no thread: the caller does the work itself
            }
            threads.append(thread)
        }
    }
}

/// One job at a time, handed out task by task under a mutex.
private final class JobQueue: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private let done: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `mutex`.
    private var job: ((Int) -> Void)?
    private var nextTask = 0
    private var taskCount = 0
    private var unfinished = 0
    private var stopping = false

    init() {
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        done = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Posts the job, runs task 0 and then any task no helper has taken, and waits for the
    /// helpers' tasks. `body` must not be used after this returns (it is not escaping).
    func run(tasks: Int, _ body: @escaping (Int) -> Void) {
        pthread_mutex_lock(mutex)
        job = body
        nextTask = 1
        taskCount = tasks
        unfinished = tasks
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
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
            return
        }
    }

    /// A helper thread's life: take tasks until the pool stops.
    func serve() {
        pthread_mutex_lock(mutex)
        while true {
            // Sleep until a job has a task nobody has taken (or the pool stops). A thread
            // started just before or after a job was posted sees it the same way.
            while !stopping && (job == nil || nextTask >= taskCount) {
                pthread_cond_wait(wake, mutex)
            }
            if stopping { break }
            let task = nextTask
            nextTask += 1
            var body = job
            pthread_mutex_unlock(mutex)
            body?(task)
            // Drop the reference before reporting completion: the caller's
            // withoutActuallyEscaping checks that the closure has not escaped.
            body = nil
            pthread_mutex_lock(mutex)
            unfinished -= 1
            if unfinished == 0 { pthread_cond_signal(done) }
        }
        pthread_mutex_unlock(mutex)
    }
}

/// Processors this process may run on (its CPU affinity), at least 1.
func availableProcessors() -> Int {
    Int(elmo_available_processors())
}
