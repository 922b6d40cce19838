import FoundationEssentials

/// Reading and writing result documents (snake_case keys, sorted for diffs).
public enum ResultsJSON {
    public struct UnsupportedSchema: Error, CustomStringConvertible {
        public let description: String
    }

    public static func encode(_ document: RunDocument) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(document)) + [10]
    }

    public static func decode(_ bytes: [UInt8]) throws -> RunDocument {
        struct Header: Decodable { let schema: String; let schemaVersion: Int }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let header = try decoder.decode(Header.self, from: Data(bytes))
        guard header.schema == RunDocument.currentSchema, header.schemaVersion <= RunDocument.currentSchemaVersion
        else {
            throw UnsupportedSchema(
                description:
                    "this is a \(header.schema) v\(header.schemaVersion) document; this catbench reads \(RunDocument.currentSchema) up to v\(RunDocument.currentSchemaVersion)"
            )
        }
        return try decoder.decode(RunDocument.self, from: Data(bytes))
    }
}
