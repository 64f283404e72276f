using System.Reflection;
using Google.Protobuf;
using Google.Rpc;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.ServiceDefaults;

/// <summary>
/// A request whose bytes are not a valid message (truncated, a length that overruns, invalid UTF-8 in a
/// string field) is the caller's mistake: INVALID_ARGUMENT saying which message could not be read.
/// grpc-dotnet parses the request before any interceptor runs and answers a parser exception with
/// UNKNOWN "Exception was thrown by handler", which reads like a server bug and invites retries.
/// </summary>
public static class MalformedRequests
{
    /// <summary>
    /// Binds every gRPC service with <see cref="StrictParsingMethodProvider{TService}"/> instead of
    /// Grpc.AspNetCore's own binder (the same binding, with the request parser wrapped). Call after AddGrpc.
    /// </summary>
    public static IServiceCollection AddStrictRequestParsing(this IServiceCollection services)
    {
        var binder = services.SingleOrDefault(d => d.ServiceType == typeof(IServiceMethodProvider<>)
                                                   && d.ImplementationType?.Name == "BinderServiceMethodProvider`1")
                     ?? throw new InvalidOperationException(
                         "Grpc.AspNetCore's BinderServiceMethodProvider<> is not registered (call AddGrpc first, or the package changed how it binds services).");
        services.Remove(binder);
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(StrictParsingMethodProvider<>));
        return services;
    }

    /// <summary>The marshaller with its parser's failures turned into INVALID_ARGUMENT.</summary>
    public static Marshaller<T> Strict<T>(Marshaller<T> marshaller) =>
        new(marshaller.ContextualSerializer, context =>
        {
            try
            {
                return marshaller.ContextualDeserializer(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw Malformed(typeof(T), e);
            }
        });

    static RpcException Malformed(Type messageType, InvalidProtocolBufferException e)
    {
        var name = MessageName(messageType);
        return new Google.Rpc.Status
        {
            Code = (int)Code.InvalidArgument,
            Message = $"The request is not a valid {name} message: {e.Message}",
            Details =
            {
                Google.Protobuf.WellKnownTypes.Any.Pack(new ErrorInfo { Reason = "MALFORMED_REQUEST", Domain = GrpcErrors.Domain, Metadata = { ["message"] = name } }),
            },
        }.ToRpcException();
    }

    /// <summary>The protobuf name of a generated message type (e.g. platform.cache.v1.GetRequest).</summary>
    static string MessageName(Type messageType) =>
        messageType.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is Google.Protobuf.Reflection.MessageDescriptor descriptor
            ? descriptor.FullName
            : messageType.Name;
}

/// <summary>
/// Binds a service the way Grpc.AspNetCore does (the generated BindService, the handler found on
/// <typeparamref name="TService"/>, its attributes as endpoint metadata), with every request marshaller
/// made strict (<see cref="MalformedRequests.Strict{T}"/>).
/// </summary>
public sealed class StrictParsingMethodProvider<TService> : IServiceMethodProvider<TService> where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        if (FindBindMethod(typeof(TService)) is not { } bind)
        {
            return; // not a generated service: nothing to bind (as Grpc.AspNetCore does)
        }
        try
        {
            bind.Invoke(null, [new Binder(context, bind.GetParameters()[1].ParameterType), null]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new InvalidOperationException($"Error binding gRPC service '{typeof(TService).Name}'.", e.InnerException);
        }
    }

    /// <summary>The generated static BindService(ServiceBinderBase, TBase), named by [BindServiceMethod] on the generated base class.</summary>
    static MethodInfo? FindBindMethod(Type serviceType)
    {
        for (var type = serviceType; type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>() is { } attribute)
            {
                return attribute.BindType.GetMethod(attribute.BindMethodName, BindingFlags.Public | BindingFlags.Static, [typeof(ServiceBinderBase), type]);
            }
        }
        return null;
    }

    sealed class Binder(ServiceMethodProviderContext<TService> context, Type generatedBase) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(ServerCallContext));
            context.AddUnaryMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<ServerStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddServerStreamingMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<ClientStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
            context.AddClientStreamingMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddDuplexStreamingMethod(Strict(method), metadata, invoker);
        }

        static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method) =>
            new(method.Type, method.ServiceName, method.Name, MalformedRequests.Strict(method.RequestMarshaller), method.ResponseMarshaller);

        (TDelegate Invoker, List<object> Metadata) Handler<TDelegate>(string name, params Type[] parameters) where TDelegate : Delegate
        {
            var handler = FindOverride(name, parameters)
                          ?? throw new InvalidOperationException($"Could not find '{name}' on {typeof(TService)}.");
            // Type attributes first, method attributes last (they win), as Grpc.AspNetCore orders them:
            // [Authorize] on the class, [AdminRpc] on a method, ...
            List<object> metadata =
            [
                .. typeof(TService).GetCustomAttributes(inherit: true),
                .. handler.GetCustomAttributes(inherit: true),
                new HttpMethodMetadata(["POST"], acceptCorsPreflight: true),
            ];
            return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), handler), metadata);
        }

        /// <summary>The public instance method overriding the generated base's virtual one (a method that hides it does not count).</summary>
        MethodInfo? FindOverride(string name, Type[] parameters)
        {
            for (var type = typeof(TService); type is not null; type = type.BaseType)
            {
                var method = type.GetMethod(name, BindingFlags.Public | BindingFlags.Instance, parameters);
                if (method is null)
                {
                    return null;
                }
                if (method.IsVirtual && method.GetBaseDefinition().DeclaringType == generatedBase)
                {
                    return method;
                }
            }
            return null;
        }
    }
}
