using System.Net.Http.Headers;
using System.Text;

namespace Newsletter.Admin;

/// <summary>
/// Who is at the console, for the log of what they did: the user name of their HTTP Basic
/// credentials (any name is accepted with the admin password, so several operators can tell
/// themselves apart), or <c>api-key</c> for an <c>X-Api-Key</c> client. Read from the request, after
/// the admin scheme has accepted its password; control characters cannot forge a log line.
/// </summary>
internal static class AdminActor
{
    private const int MaxLength = 64;

    public static string Of(HttpContext http)
    {
        if (http.Request.Headers["X-Api-Key"].Count > 0)
            return "api-key";
        if (AuthenticationHeaderValue.TryParse(http.Request.Headers.Authorization, out var header)
            && header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && header.Parameter is { } parameter)
        {
            var decoded = new byte[parameter.Length];
            if (Convert.TryFromBase64String(parameter, decoded, out var length))
            {
                var credentials = Encoding.UTF8.GetString(decoded, 0, length);
                var colon = credentials.IndexOf(':');
                var user = new string((colon < 0 ? credentials : credentials[..colon]).Select(c => char.IsControl(c) ? '?' : c).Take(MaxLength).ToArray()).Trim();
                if (user.Length > 0)
                    return user;
            }
        }
        return "admin";
    }
}
