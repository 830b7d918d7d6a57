import SluiceTestSupport
import Testing

@testable import SluiceHTTP

/// How the test harness hands bytes to the parser, like a socket delivering reads of different sizes.
enum ParserFeed: Sendable, CustomTestStringConvertible {
    case whole
    case byteByByte
    case randomSlices(seed: UInt64, maxSize: Int)

    /// The three ways every corpus entry is fed.
    static let all: [ParserFeed] = [.whole, .byteByByte, .randomSlices(seed: 0x5EED, maxSize: 17)]

    var testDescription: String {
        switch self {
        case .whole: "whole"
        case .byteByByte: "byte by byte"
        case .randomSlices(let seed, let maxSize): "random slices of 1...\(maxSize) (seed \(seed))"
        }
    }
}

/// What a parser produced from a byte stream, with consecutive body pieces joined so runs that were fed
/// differently have equal ``events``.
struct ParserRun {
    enum Event: Equatable {
        case head(HTTPRequestHead)
        case body([UInt8])
        case end
    }

    var events: [Event] = []
    var error: HTTPParseError?
    /// Sizes of the `.body` pieces as handed out, before joining.
    var pieceSizes: [Int] = []

    /// The heads, in order.
    var heads: [HTTPRequestHead] {
        events.compactMap { event in
            if case .head(let head) = event { head } else { nil }
        }
    }

    /// The body of each request (empty when it had none), in order.
    var bodies: [String] {
        var result: [String] = []
        for event in events {
            switch event {
            case .head: result.append("")
            case .body(let bytes): result[result.count - 1] += String(decoding: bytes, as: UTF8.self)
            case .end: break
            }
        }
        return result
    }

    fileprivate mutating func record(_ part: HTTPRequestPart) {
        switch part {
        case .head(let head):
            events.append(.head(head))
        case .body(let bytes):
            pieceSizes.append(bytes.count)
            if case .body(let earlier) = events.last {
                events[events.count - 1] = .body(earlier + bytes)
            } else {
                events.append(.body(bytes))
            }
        case .end:
            events.append(.end)
        }
    }
}

/// Feeds `input` to a fresh parser the way a connection would: append what arrived, call `next` until nil,
/// drop what was consumed. Checks on the way that no body piece is larger than the read it came from, that no
/// piece is empty, and that a nil answer consumed everything.
func runParser(_ input: [UInt8], feed: ParserFeed, limits: HTTPParserLimits = HTTPParserLimits()) -> ParserRun {
    var parser = HTTPRequestParser(limits: limits)
    var random: SplitMix64 =
        if case .randomSlices(let seed, _) = feed { SplitMix64(seed: seed) } else { SplitMix64(seed: 0) }
    var run = ParserRun()
    var buffer: [UInt8] = []
    var position = 0
    while position < input.count {
        let size: Int
        switch feed {
        case .whole:
            size = input.count
        case .byteByByte:
            size = 1
        case .randomSlices(_, let maxSize):
            size = Int.random(in: 1...maxSize, using: &random)
        }
        let read = input[position..<min(position + size, input.count)]
        position += read.count
        buffer.append(contentsOf: read)
        var offset = 0
        do {
            while let part = try parser.next(buffer, offset: &offset) {
                if case .body(let bytes) = part {
                    #expect(!bytes.isEmpty)
                    #expect(bytes.count <= read.count, "a body piece is larger than the read it came from")
                }
                run.record(part)
            }
        } catch {
            run.error = error
            return run
        }
        #expect(offset == buffer.count, "nil returned before every byte was consumed")
        buffer.removeFirst(offset)
    }
    return run
}

/// `text` as bytes, for readable test inputs.
func wire(_ text: String) -> [UInt8] {
    Array(text.utf8)
}
