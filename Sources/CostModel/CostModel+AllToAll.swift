import AttnHardware

extension CostModel {
    /// Seconds of an all-to-all in which the busiest GPU sends `sendBytes` and receives
    /// `receiveBytes` over `link` (expert parallelism's dispatch and combine). On a
    /// switched fabric (NVSwitch, Infinity Fabric's full mesh) every GPU's traffic to all
    /// peers goes out over its own links at once, each direction at the link's bandwidth
    /// per GPU. NCCL runs all-to-all as concurrent send/receive pairs to every peer in one
    /// group, so the time is one send (`send`: NCCL's ring latency of one hop under LL or
    /// Simple) of the larger direction:
    ///
    ///     t = send(max(send, receive));   nil for one GPU or no bytes
    public func allToAll(sendBytes: Int, receiveBytes: Int, gpus: Int, over link: Interconnect) -> CollectiveTuning.Choice? {
        guard gpus > 1, max(sendBytes, receiveBytes) > 0 else { return nil }
        return send(bytes: max(sendBytes, receiveBytes), over: link)
    }

    /// Seconds of that all-to-all (`allToAll`); 0 for one GPU or no bytes.
    public func allToAllSeconds(sendBytes: Int, receiveBytes: Int, gpus: Int, over link: Interconnect) -> Double {
        allToAll(sendBytes: sendBytes, receiveBytes: receiveBytes, gpus: gpus, over: link)?.seconds ?? 0
    }
}
