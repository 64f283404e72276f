using Platform.AudioQueue;
using Platform.AudioQueue.Grpc;
using Platform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGrpcService<DiagnosticsService>();
app.MapGrpcService<AudioQueueService>();
app.MapGrpcService<AudioWorkerService>();
app.Run();

public partial class Program;
