import SluiceNet

/// Which primary serves each hash slot, read from a `CLUSTER SLOTS` reply.
///
/// The reply is read by position — `[start, end, [host, port, id, …], replicas…]` — and extra
/// fields are ignored. A primary's host may be NULL or empty (the server means "the address you
/// reached me on") or `?` (unknown: its slots are left unassigned).
///
/// ```swift
/// let topology = try ClusterTopology(slotsReply: reply, answeredBy: seed)
/// let owner = topology.primary(forSlot: ClusterSlot.of("hits"))
/// ```
public struct ClusterTopology: Sendable, Equatable {
    /// The primaries, each once, in the order the reply named them.
    public private(set) var primaries: [HostAndPort] = []
    /// For each slot, an index into `primaries`, or `unassigned`.
    private var owners: [UInt16]
    private static let unassigned = UInt16.max

    /// A topology where no slot has an owner yet.
    public init() {
        owners = Array(repeating: Self.unassigned, count: ClusterSlot.count)
    }

    /// Reads a `CLUSTER SLOTS` reply from the node at `answeredBy`.
    public init(slotsReply reply: RESPValue, answeredBy node: HostAndPort) throws(RedisError) {
        self.init()
        guard case .array(let ranges) = reply else {
            throw Self.malformed("expected an array, got \(reply)", node)
        }
        for range in ranges {
            guard case .array(let fields) = range, fields.count >= 3,
                let start = fields[0].int, let end = fields[1].int, 0 <= start, start <= end,
                end < ClusterSlot.count, case .array(let primary) = fields[2], primary.count >= 2,
                let port = primary[1].int, (1...65535).contains(port)
            else { throw Self.malformed("unreadable slot range \(range)", node) }
            let host: String
            switch primary[0] {
            case .null: host = node.host
            case let value:
                guard let text = value.string else { throw Self.malformed("unreadable host in \(range)", node) }
                if text == "?" { continue }
                host = text.isEmpty ? node.host : text
            }
            assign(Int(start)...Int(end), to: HostAndPort(host: host, port: Int(port)))
        }
    }

    /// The primary serving `slot`, or nil when none does.
    public func primary(forSlot slot: Int) -> HostAndPort? {
        let owner = owners[slot]
        return owner == Self.unassigned ? nil : primaries[Int(owner)]
    }

    /// How many slots have an owner.
    public var assignedSlotCount: Int { owners.count { $0 != Self.unassigned } }

    /// Records that `primary` serves `slots` (from `CLUSTER SLOTS`, or a `MOVED` redirect).
    public mutating func assign(_ slots: ClosedRange<Int>, to primary: HostAndPort) {
        let index: Int
        if let known = primaries.firstIndex(of: primary) {
            index = known
        } else {
            index = primaries.count
            primaries.append(primary)
        }
        for slot in slots { owners[slot] = UInt16(index) }
    }

    private static func malformed(_ message: String, _ node: HostAndPort) -> RedisError {
        RedisError(code: .protocolError, message: "CLUSTER SLOTS: \(message)", endpoint: node.description)
    }
}
