@_exported import WireFormat
