using System.CommandLine;
using Newsletter.Delivery;

namespace Newsletter.Cli;

/// <summary><c>dkim dns</c>: the TXT record to publish for the configured DKIM key.</summary>
internal static class DkimCommands
{
    public static Command Create(NewsletterCli cli)
    {
        var dns = new Command("dns", "Print the DNS TXT record that publishes the public half of the DKIM key (Dkim:PrivateKeyPath or Dkim:PrivateKey).");
        dns.SetAction(async (_, ct) =>
        {
            if (!await cli.PrepareAsync(ct, rendersTemplates: false)) return ExitCodes.InvalidConfiguration;
            var dkim = cli.Get<DkimSigning>();
            if (!dkim.Enabled)
            {
                await cli.Error.WriteLineAsync("DKIM is off: set Newsletter:Dkim:Domain, Selector and PrivateKeyPath (or PrivateKey) first (README, section DKIM).");
                return ExitCodes.Failed;
            }
            await cli.Output.WriteLineAsync(dkim.DnsRecord());
            return ExitCodes.Success;
        });
        return new Command("dkim", "DKIM signing tools.") { dns };
    }
}
