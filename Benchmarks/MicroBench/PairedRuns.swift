/// A baseline and a subject measured next to each other in every round, in alternating order so drift
/// in the machine's load favours neither: their runs, the subject/baseline req/s ratio of each round,
/// and the baseline/subject ratio of the servers' CPU per call (how much more work a call is, whatever
/// else runs on the machine).
struct PairedRuns {
    private(set) var baseline: [RunResult] = []
    private(set) var subject: [RunResult] = []
    private(set) var rates = RoundRatios()
    private(set) var cpu = RoundRatios()

    /// Runs whichever of the two are given for `round` (the baseline first in odd rounds), printing each run.
    mutating func measure(round: Int, baseline runBaseline: (() async throws -> RunResult)?,
                          subject runSubject: (() async throws -> RunResult)?) async throws {
        var pair: (baseline: RunResult?, subject: RunResult?) = (nil, nil)
        for first in round % 2 == 1 ? [true, false] : [false, true] {
            guard let run = first ? runBaseline : runSubject else { continue }
            let r = try await run()
            report(round: round, r)
            if let micros = r.cpuMicrosPerRequest { print("             server CPU \(Table.fmt(micros, 2)) µs per call") }
            if first { pair.baseline = r } else { pair.subject = r }
        }
        if let b = pair.baseline { baseline.append(b) }
        if let s = pair.subject { subject.append(s) }
        guard let b = pair.baseline, let s = pair.subject else { return }
        if b.requestsPerSecond > 0 { rates.append(s.requestsPerSecond / b.requestsPerSecond) }
        if let a = b.cpuMicrosPerRequest, let c = s.cpuMicrosPerRequest, c > 0 { cpu.append(a / c) }
    }

    /// The best runs' ratio against `target`, the medians of the per-round ratios against it, and the rounds' ratios.
    func summary(_ name: String, target: Double) -> [String] {
        guard let best = RunResult.best(subject), let base = RunResult.best(baseline) else { return [] }
        return [
            Table.ratioRow(name + ", best runs", best.requestsPerSecond / base.requestsPerSecond, target: target, labelWidth: 64),
            Table.ratioRow("  median of the rounds' req/s ratios", rates.median, target: target, labelWidth: 64),
            Table.ratioRow("  median of the rounds' server CPU per call ratios", cpu.median, target: target, labelWidth: 64),
            "  req/s, subject / baseline per round: " + rates.values.map { Table.fmt($0, 3) }.joined(separator: " ") + "  → " + rates.summary,
            "  server CPU per call, baseline / subject per round: " + cpu.values.map { Table.fmt($0, 3) }.joined(separator: " ")
                + "  → " + cpu.summary,
        ]
    }
}
