import AsyncStack
import SuiteKit
import WireFormat

/// The files suite on the async stack: a mounted static folder (Starlette's
/// `Mount("/static", StaticFiles(...))`), its bodies written by NIO — a file
/// region (sendfile) on cleartext HTTP/1.1.
extension FilesSuite: AsyncStackSuite {
    public static func register(_ app: AsyncApp, _ context: SuiteContext) throws {
        let files = try StaticFiles(folder: try context.services.require(StaticFolderService.self).folder)
        try app.staticFiles("/static", files)
    }
}
