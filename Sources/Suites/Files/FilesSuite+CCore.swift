import CCoreStack
import SuiteKit

/// The files suite on ccore: the C core's own static server (Catzilla's
/// `mount_static`) — path checks, validators, ranges and sendfile in C on the
/// loop thread; Swift only names the folder.
extension FilesSuite: CCoreSuite {
    public static func register(_ app: CCoreApp, _ context: SuiteContext) throws {
        let folder = try context.services.require(StaticFolderService.self)
        try app.staticFiles("/static", folder: try CCoreStaticFolder(folder.folder))
    }
}
