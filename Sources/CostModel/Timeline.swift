import Foundation

/// The modelled schedule as Chrome trace-event JSON (Perfetto and chrome://tracing open it):
/// one track per SM, kernels one after another, each kernel's thread blocks placed on the
/// SMs in waves. Blocks sharing an SM in a wave are drawn as one event; a run with more
/// than `maximumEvents` (SM, wave) slots draws each kernel as one event per SM.
public enum Timeline {
    public static let maximumEvents = 200_000

    public static func chromeTrace(_ prediction: RunPrediction, smCount: Int, label: String) -> String {
        var events: [String] = []
        var start = prediction.overheadSeconds * 1e6
        events.append(event(name: "call overhead", category: "overhead", start: 0, duration: start, thread: 0, args: "{}"))
        let slots = prediction.kernels.reduce(0) { $0 + $1.waves * min(smCount, $1.blocks) }
        for kernel in prediction.kernels {
            let duration = kernel.seconds * 1e6
            let perWave = duration / Double(kernel.waves)
            let blocksPerWave = kernel.blocksPerSM * smCount
            if slots <= maximumEvents {
                for wave in 0..<kernel.waves {
                    let blocksInWave = min(blocksPerWave, kernel.blocks - wave * blocksPerWave)
                    for sm in 0..<min(smCount, blocksInWave) {
                        let onSM = blocksInWave / smCount + (sm < blocksInWave % smCount ? 1 : 0)
                        events.append(event(
                            name: kernel.name, category: kernel.bound.rawValue, start: start + Double(wave) * perWave, duration: perWave, thread: sm,
                            args: "{\"wave\":\(wave),\"blocks\":\(onSM),\"bound\":\"\(kernel.bound.rawValue)\"}"))
                    }
                }
            } else {
                for sm in 0..<min(smCount, kernel.blocks) {
                    events.append(event(
                        name: kernel.name, category: kernel.bound.rawValue, start: start, duration: duration, thread: sm,
                        args: "{\"waves\":\(kernel.waves),\"bound\":\"\(kernel.bound.rawValue)\"}"))
                }
            }
            start += duration
        }
        let metadata = "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"args\":{\"name\":\"\(label)\"}}"
        return "{\"traceEvents\":[\n" + ([metadata] + events).joined(separator: ",\n") + "\n],\"displayTimeUnit\":\"ns\"}\n"
    }

    private static func event(name: String, category: String, start: Double, duration: Double, thread: Int, args: String) -> String {
        "{\"name\":\"\(name)\",\"cat\":\"\(category)\",\"ph\":\"X\",\"ts\":\(String(format: "%.3f", start)),\"dur\":\(String(format: "%.3f", duration)),\"pid\":0,\"tid\":\(thread),\"args\":\(args)}"
    }
}
