namespace Newsletter.Delivery;

/// <summary>
/// The personal links a digest carries (one-click unsubscribe, preferences). Subscriptions
/// provides them; declaring the need here keeps Delivery from importing Subscriptions, which
/// itself sends its confirmations through Delivery.
/// </summary>
public interface IRecipientLinks
{
    string Unsubscribe(long subscriberId);

    string Preferences(long subscriberId);
}
