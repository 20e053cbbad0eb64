using Microsoft.AspNetCore.Antiforgery;
using Newsletter.Orchestration;
using Newsletter.Subscriptions;

namespace Newsletter.Admin;

/// <summary>
/// The operator's console behind the admin credential: <c>GET /admin</c> (the dashboard),
/// <c>GET /admin/readers?q=</c> (search by address), <c>GET /admin/readers/{id}</c> (one reader) and
/// <c>POST /admin/readers/{id}/{action}</c> (pause, resume, unsubscribe, remove, resend-confirmation,
/// send-test). A GET changes nothing; every action is a form post that must carry the antiforgery
/// token of a page the console served (a credential a browser sends by itself is no proof that
/// the operator meant it), and is logged with who did it.
/// </summary>
public static class ConsoleEndpoints
{
    private const string LogCategory = "Newsletter.Admin.Console";

    public static WebApplication MapConsole(this WebApplication app)
    {
        var console = app.MapGroup("/admin").RequireAuthorization(AdminEndpoints.Policy);
        console.MapGet("", DashboardAsync);
        console.MapGet("/readers", ReadersAsync);
        console.MapGet("/readers/{id:long}", ReaderAsync);
        // The form is checked here, by IAntiforgery, so that a refusal is a page that says so.
        console.MapPost("/readers/{id:long}/{action}", ActAsync).DisableAntiforgery();
        return app;
    }

    private static IResult Page(HttpContext http, PageRenderer pages, string page, string title, Scriban.Runtime.ScriptObject model,
        int status = StatusCodes.Status200OK, bool hasForm = false) =>
        pages.Render(http, page, title, model, status, hasForm, OperatorConsole.Layout);

    private static async Task<IResult> DashboardAsync(HttpContext http, OperatorConsole console, PageRenderer pages, CancellationToken cancellationToken) =>
        Page(http, pages, OperatorConsole.DashboardPage, "Dashboard", OperatorConsole.DashboardModel(await console.DashboardAsync(cancellationToken)));

    private static async Task<IResult> ReadersAsync(HttpContext http, string? q, OperatorConsole console, PageRenderer pages, CancellationToken cancellationToken)
    {
        // Up to a whole address; anything longer cannot match and is not worth a query.
        if (string.IsNullOrWhiteSpace(q) || q.Length > 320)
            return Page(http, pages, OperatorConsole.ReadersPage, "Readers", OperatorConsole.ReadersModel(q, string.IsNullOrWhiteSpace(q) ? null : []));
        return Page(http, pages, OperatorConsole.ReadersPage, "Readers", OperatorConsole.ReadersModel(q, await console.SearchAsync(q, cancellationToken)));
    }

    private static async Task<IResult> ReaderAsync(HttpContext http, long id, OperatorConsole console, PageRenderer pages, CancellationToken cancellationToken) =>
        await console.ReaderAsync(id, cancellationToken) is { } reader
            ? Page(http, pages, OperatorConsole.ReaderPage, reader.Subscriber.Email, OperatorConsole.ReaderModel(reader), hasForm: true)
            : NoSuchReader(http, pages);

    private static IResult NoSuchReader(HttpContext http, PageRenderer pages, string notice = "There is no such reader (removed, or never here).") =>
        Page(http, pages, OperatorConsole.ReadersPage, "Readers", OperatorConsole.ReadersModel(null, null, notice), StatusCodes.Status404NotFound);

    private static async Task<IResult> ActAsync(HttpContext http, long id, string action, OperatorConsole console, ReaderActions actions, SubscriberStore subscribers,
        PageRenderer pages, IAntiforgery antiforgery, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger(LogCategory);
        var actor = AdminActor.Of(http);
        if (!OperatorConsole.Actions.Contains(action))
            return TypedResults.NotFound();
        if (!http.Request.HasFormContentType || !await antiforgery.IsRequestValidAsync(http))
        {
            logger.LogWarning("Admin {User} from {Client}: {Action} of reader {Id} refused without a valid antiforgery token", actor, Client(http), action, id);
            var current = await console.ReaderAsync(id, cancellationToken);
            return current is null
                ? NoSuchReader(http, pages)
                : Page(http, pages, OperatorConsole.ReaderPage, current.Subscriber.Email,
                    OperatorConsole.ReaderModel(current, "Nothing was done: this form had expired or did not come from the console; press the button again.", noticeOk: false),
                    StatusCodes.Status400BadRequest, hasForm: true);
        }
        if (await subscribers.FindAsync(id, cancellationToken) is not { } subscriber)
            return NoSuchReader(http, pages);
        var address = EmailAddress.TryParse(subscriber.Email, out var parsed, out _) ? parsed! : new EmailAddress(subscriber.Email, subscriber.Email.ToLowerInvariant());
        var result = action switch
        {
            "pause" => await actions.PauseAsync(subscriber, pause: true, cancellationToken),
            "resume" => await actions.PauseAsync(subscriber, pause: false, cancellationToken),
            "unsubscribe" => await actions.UnsubscribeAsync(subscriber, $"the operator ({actor})", cancellationToken),
            "remove" => await actions.RemoveAsync(address, cancellationToken),
            "resend-confirmation" => Sentence(await actions.SendConfirmationAsync(address, subscriber, cancellationToken)),
            _ => await actions.SendTestAsync(subscriber.Email, cancellationToken),
        };
        logger.LogInformation("Admin {User} from {Client}: {Action} {Email} (reader {Id}): {Outcome}", actor, Client(http), action, subscriber.Email, id, result.Sentence);
        if (action == "remove" && result.Status == ReaderActionStatus.Done)
            return Page(http, pages, OperatorConsole.ReadersPage, "Readers", OperatorConsole.ReadersModel(null, null, result.Sentence + " and their history."));
        if (await console.ReaderAsync(id, cancellationToken) is not { } after)
            return NoSuchReader(http, pages, result.Sentence);
        var status = result.Status switch
        {
            ReaderActionStatus.Done or ReaderActionStatus.Unchanged => StatusCodes.Status200OK,
            ReaderActionStatus.Refused => StatusCodes.Status409Conflict,
            ReaderActionStatus.Unknown => StatusCodes.Status404NotFound,
            _ => StatusCodes.Status502BadGateway,
        };
        return Page(http, pages, OperatorConsole.ReaderPage, after.Subscriber.Email, OperatorConsole.ReaderModel(after, result.Sentence, result.Succeeded), status, hasForm: true);
    }

    /// <summary>The client's address (behind a known proxy, the forwarded one): who did it, exactly, not the abuse limits' network.</summary>
    private static string Client(HttpContext http) => http.Connection.RemoteIpAddress is { } address
        ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString() : "unknown";

    /// <summary>The confirmation's sentences are phrased to follow the CLI's "Added x;": here they stand alone.</summary>
    private static ReaderActionResult Sentence(ReaderActionResult result) =>
        result with { Sentence = result.Sentence.Length > 0 ? char.ToUpperInvariant(result.Sentence[0]) + result.Sentence[1..] + (result.Sentence.EndsWith('.') ? "" : ".") : "" };
}
