namespace Newsletter.Configuration;

/// <summary>
/// Resolves the relative paths of the configuration. The contract makes them relative to the
/// current directory; a templates folder missing there falls back to the copy beside the binary,
/// so the build output runs on its own.
/// </summary>
public static class PathResolver
{
    public static string FromCurrentDirectory(string path) =>
        Path.GetFullPath(path, Directory.GetCurrentDirectory());

    public static string Templates(string configured)
    {
        var fromCurrent = FromCurrentDirectory(configured);
        if (Path.IsPathRooted(configured) || Directory.Exists(fromCurrent))
            return fromCurrent;
        var besideBinary = Path.GetFullPath(configured, AppContext.BaseDirectory);
        return Directory.Exists(besideBinary) ? besideBinary : fromCurrent;
    }
}
