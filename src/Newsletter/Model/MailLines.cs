namespace Newsletter.Model;

/// <summary>Line measures of mail bodies, shared by the renderer (wire-ready runs) and the message builder (encoding choice).</summary>
public static class MailLines
{
    /// <summary>The longest line in octets, not counting its CR or LF (a vectorised scan, cheap next to sending).</summary>
    public static int LongestLine(ReadOnlySpan<byte> utf8)
    {
        var longest = 0;
        while (true)
        {
            var end = utf8.IndexOf((byte)'\n');
            var line = end < 0 ? utf8 : utf8[..end];
            var length = line.Length > 0 && line[^1] == '\r' ? line.Length - 1 : line.Length;
            longest = Math.Max(longest, length);
            if (end < 0)
                return longest;
            utf8 = utf8[(end + 1)..];
        }
    }
}
