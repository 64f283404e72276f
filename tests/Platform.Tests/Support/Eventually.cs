namespace Platform.Tests.Support;

/// <summary>
/// Waits for something that happens in the background (a reconnect, a pub/sub message, a file watch) by
/// asking again every 100 ms, for at most 20 s. Tests assert on the outcome, never on how long it took.
/// </summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            if (await condition())
            {
                return true;
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        return false;
    }
}
