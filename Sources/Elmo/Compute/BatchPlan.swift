/// How a batch is laid out for the recurrent computation.
///
/// Sentences (with their BOS/EOS tokens) are sorted by length, longest first, so that the
/// sentences still running at timestep t are always a prefix of the sorted order. Rows are
/// stored step-major: all sentences' step 0, then step 1 of those still active, and so on.
/// Step t's rows are then contiguous, the recurrent product at step t is one GEMM over
/// `active[t]` rows, and the previous step's outputs are the first rows of the previous block.
/// The backward direction uses the same layout over reversed sentences.
struct BatchPlan {
    /// Sentence lengths in tokens including BOS and EOS, in caller order.
    let lengths: [Int]
    /// order[a] = caller index of the sentence at sorted position a.
    let order: [Int]
    /// position[i] = sorted position of caller sentence i.
    let position: [Int]
    /// active[t] = number of sentences longer than t.
    let active: [Int]
    /// offset[t] = first row of step t; offset[steps] = totalRows.
    let offset: [Int]

    var sentenceCount: Int { lengths.count }
    var steps: Int { active.count }
    var totalRows: Int { offset[active.count] }

    /// `tokenCounts`: tokens per sentence without boundaries.
    init(tokenCounts: [Int]) {
        let lengths = tokenCounts.map { $0 + 2 }
        self.lengths = lengths
        let sorted = lengths.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
        order = sorted
        var pos = [Int](repeating: 0, count: lengths.count)
        for (a, i) in sorted.enumerated() { pos[i] = a }
        position = pos
        let steps = lengths.max() ?? 0
        var active = [Int](repeating: 0, count: steps)
        var offset = [Int](repeating: 0, count: steps + 1)
        // Sorted descending, so the active count at t is the number of leading lengths > t.
        var n = sorted.count
        for t in 0..<steps {
            while n > 0 && lengths[sorted[n - 1]] <= t { n -= 1 }
            active[t] = n
            offset[t + 1] = offset[t] + n
        }
        self.active = active
        self.offset = offset
    }

    /// Row of timestep t of the sentence at sorted position a (requires a < active[t]).
    @inline(__always)
    func row(step t: Int, sorted a: Int) -> Int { offset[t] + a }

    /// Length (with boundaries) of the sentence at sorted position a.
    @inline(__always)
    func length(sorted a: Int) -> Int { lengths[order[a]] }
}
