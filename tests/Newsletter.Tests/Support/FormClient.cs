using System.Net;
using System.Text.RegularExpressions;

namespace Newsletter.Tests.Support;

/// <summary>An HTTP client that behaves like a browser without JavaScript: cookies, forms, no redirects followed.</summary>
public sealed partial class FormClient : IDisposable
{
    private readonly HttpClient _http;

    public FormClient(string baseUrl, bool cookies = true)
    {
        _http = new HttpClient(new HttpClientHandler { UseCookies = cookies, CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(baseUrl),
        };
    }

    public HttpClient Http => _http;

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\"")]
    private static partial Regex HiddenField();

    public async Task<(HttpResponseMessage Response, string Body)> GetAsync(string url)
    {
        var response = await _http.GetAsync(url);
        return (response, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Submits the first form of the page at <paramref name="pageUrl"/> with its hidden fields plus <paramref name="fields"/>.</summary>
    public async Task<(HttpResponseMessage Response, string Body)> SubmitAsync(string pageUrl, string action, Dictionary<string, string>? fields = null)
    {
        var (_, page) = await GetAsync(pageUrl);
        var form = HiddenField().Matches(page).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value), m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        foreach (var (key, value) in fields ?? [])
            form[key] = value;
        var response = await _http.PostAsync(action, new FormUrlEncodedContent(form));
        return (response, await response.Content.ReadAsStringAsync());
    }

    public void Dispose() => _http.Dispose();
}
