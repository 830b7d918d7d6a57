import SluiceTestSupport
import Testing

@testable import SluiceHTTP

/// What a response parser produced from a byte stream (and, if asked, the close after it), with consecutive
/// body pieces joined so runs that were fed differently have equal ``events``.
struct ResponseParserRun {
    enum Event: Equatable {
        case head(HTTPResponseHead)
        case body([UInt8])
        case end
    }

    var events: [Event] = []
    var error: HTTPParseError?
    /// Sizes of the `.body` pieces as handed out, before joining.
    var pieceSizes: [Int] = []

    /// Every head, interim ones included, in order.
    var heads: [HTTPResponseHead] {
        events.compactMap { event in
            if case .head(let head) = event { head } else { nil }
        }
    }

    /// Per final response, in order: its status and its body.
    var responses: [(status: Int, body: String)] {
        var result: [(status: Int, body: String)] = []
        for event in events {
            switch event {
            case .head(let head) where !head.isInterim: result.append((head.status, ""))
            case .body(let bytes): result[result.count - 1].body += String(decoding: bytes, as: UTF8.self)
            case .head, .end: break
            }
        }
        return result
    }

    /// How many responses ended.
    var endCount: Int {
        events.filter { $0 == .end }.count
    }

    fileprivate mutating func record(_ part: HTTPResponsePart) {
        switch part {
        case .head(let head):
            events.append(.head(head))
        case .body(let bytes):
            pieceSizes.append(bytes.count)
            guard case .body(let earlier) = events.last else {
                events.append(.body(bytes))
                return
            }
            events[events.count - 1] = .body(earlier + bytes)
        case .end:
            events.append(.end)
        }
    }
}

/// Feeds `input` to a fresh response parser the way a proxy would: append what arrived, call `next` until nil,
/// drop what was consumed; then, when `closeAtEnd`, report the upstream's close. The response after the n-th
/// `.end` answers a `methods[n]` request (`GET` past the end of `methods`).
///
/// Checks on the way that no body piece is empty or larger than the read it came from, and that a nil answer
/// consumed everything.
func runResponseParser(
    _ input: [UInt8],
    feed: ParserFeed,
    methods: [String] = [],
    closeAtEnd: Bool = false,
    limits: HTTPParserLimits = HTTPParserLimits()
) -> ResponseParserRun {
    var parser = HTTPResponseParser(limits: limits)
    var random = SplitMix64(seed: 0)
    if case .randomSlices(let seed, _) = feed {
        random = SplitMix64(seed: seed)
    }
    var run = ResponseParserRun()
    var buffer: [UInt8] = []
    var position = 0
    do {
        while position < input.count {
            let size =
                switch feed {
                case .whole: input.count
                case .byteByByte: 1
                case .randomSlices(_, let maxSize): Int.random(in: 1...maxSize, using: &random)
                }
            let read = input[position..<min(position + size, input.count)]
            position += read.count
            buffer.append(contentsOf: read)
            var offset = 0
            while true {
                let method = run.endCount < methods.count ? methods[run.endCount] : "GET"
                guard let part = try parser.next(buffer, offset: &offset, requestMethod: method) else { break }
                if case .body(let bytes) = part {
                    #expect(!bytes.isEmpty)
                    #expect(bytes.count <= read.count, "a body piece is larger than the read it came from")
                }
                run.record(part)
            }
            #expect(offset == buffer.count, "nil returned before every byte was consumed")
            buffer.removeFirst(offset)
        }
        if closeAtEnd, let part = try parser.peerClosed() {
            run.record(part)
        }
    } catch {
        run.error = error
    }
    return run
}
