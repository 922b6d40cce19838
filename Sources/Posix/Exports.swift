@_exported import CPosix
