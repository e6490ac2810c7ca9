// Loads echo.proto for the grpc-js peer.
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const definition = loader.loadSync(path.join(__dirname, '..', 'echo.proto'), { keepCase: false, longs: Number, defaults: true });
const proto = grpc.loadPackageDefinition(definition).avatar.test.v1;
module.exports = { grpc, proto };
