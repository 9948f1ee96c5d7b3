-- n8n keeps its own database beside pumpflix's, on the same server.
CREATE DATABASE n8n OWNER pumpflix;
