import AsyncStack
import CCoreStack
import FoundationEssentials
import SuiteKit
import ThreadedStack
import WireFormat

/// What `catbench micro validation` times on each stack: from the body's
/// bytes to the normalized document (or the list of failures) — the
/// endpoint's work without HTTP. True when the model was valid.
public enum ValidationMicroTarget {
    public static func make(_ stack: StackName) throws -> @Sendable ([UInt8]) -> Bool {
        switch stack {
        case .ccore:
            let schema = try ValidationSuite.ccoreSchema()
            let box = WriterBox()
            return { body in
                guard let document = JSONValue.parse(body) else { return false }
                box.writer.reset()
                return schema.validate(document, into: &box.writer).isEmpty
            }
        case .async:
            return { body in
                guard let input = try? JSONDecoder().decode(ValidationSuite.UserIn.self, from: Data(body)),
                    case .success(let user) = ValidationSuite.validate(input)
                else { return false }
                return (try? JSONEncoder().encode(user)) != nil
            }
        case .threaded:
            let schema = ValidationSuite.threadedSchema()
            return { body in
                guard let data = JSONValue.parse(body), case .success(let user) = schema.load(data) else {
                    return false
                }
                return !user.serialized().isEmpty
            }
        }
    }
}

private final class WriterBox: @unchecked Sendable {
    var writer = JSONWriter(capacity: 1 << 16)
}
