"""The MCP front-end: kubewhy's read-only tools for AI assistants over the Model Context Protocol (docs/mcp.md).

Like every front-end it holds one :class:`kubewhy.app.Kubewhy` and only translates and formats:
:mod:`.caller` says who is calling and which namespaces they may read, :mod:`.server` declares the tools and
resources on the official ``mcp`` SDK (the only modules that import it), :mod:`.command` is ``kubewhy mcp``.
"""
