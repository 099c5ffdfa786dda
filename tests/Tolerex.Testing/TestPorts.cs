using System.Net;
using System.Net.Sockets;

namespace Tolerex.Testing;

/// <summary>
/// Ports for the nodes a test starts. They come from 20000–32767, below the range the system hands out for
/// port 0 and for outgoing connections (32768 and up), and each is taken once per test run, so a port picked
/// here cannot be grabbed meanwhile by the system, by another test or by a cluster the AppHost starts.
/// </summary>
public static class TestPorts
{
    private const int First = 20000;
    private const int Last = 32767;
    private static int _next = First + Environment.ProcessId % 400 * 25;

    /// <summary>A port nothing listens on now and no other caller of this method in this run will be given.</summary>
    public static int Next()
    {
        for (var tries = 0; tries < Last - First; tries++)
        {
            var port = First + (Interlocked.Increment(ref _next) - First) % (Last - First);
            if (IsFree(port))
                return port;
        }

        throw new InvalidOperationException($"no free port between {First} and {Last}");
    }

    private static bool IsFree(int port)
    {
        // Nodes listen on every address, IPv6 and IPv4.
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
