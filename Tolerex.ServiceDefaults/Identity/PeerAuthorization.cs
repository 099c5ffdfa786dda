using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Tolerex.ServiceDefaults.Identity;

/// <summary>Reads the caller's identity from the client certificate of the connection an RPC arrived on.</summary>
public static class PeerAuthorization
{
    /// <summary>The caller's identity; the listener only accepts certificates from our CA, so this is trusted.</summary>
    public static PeerIdentity? Caller(this ServerCallContext context) =>
        PeerIdentity.From(context.GetHttpContext().Connection.ClientCertificate);

    public static RpcException Denied(string detail) => new(new Status(StatusCode.PermissionDenied, detail));
}

/// <summary>Refuses every RPC whose caller does not hold the one role this node's services serve.</summary>
public sealed class RequireRoleInterceptor(NodeRole role) : Interceptor
{
    private void Check(ServerCallContext context)
    {
        var caller = context.Caller();
        if (caller?.Role != role)
            throw PeerAuthorization.Denied($"{context.Method} is served to {role.ToString().ToLowerInvariant()} identities only; the caller is {caller?.ToString() ?? "unidentified"}");
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }
}
