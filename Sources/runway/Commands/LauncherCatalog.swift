import RunwayManifests

/// The one place that names the launcher plugins the executable knows.
enum LauncherCatalog {
    static let plugins = PluginCatalog.builtIn
}
